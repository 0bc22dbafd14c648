/**
 * The text of a source spec: `[KIND:]LOCATION[?split=S&image-column=C&label-column=L]`. The query names the
 * dataset choices of one source (evaluate reads `--id-train D` and `--id-test 'D?split=test'` from one dataset);
 * the command's `--split`, `--image-column` and `--label-column` flags fill in what a spec leaves out. Only these
 * three keys make a query, so a path that merely contains '?' is left whole.
 */
import { UserError } from '../core/errors.js';
import type { DatasetChoice } from './readers/hf-dataset-columns.js';

const CHOICE_KEYS: Readonly<Record<string, keyof DatasetChoice>> = { split: 'split', 'image-column': 'imageColumn', 'label-column': 'labelColumn' };
const QUERY = new RegExp(`^(.+?)\\?((?:${Object.keys(CHOICE_KEYS).join('|')})=[^&]*(?:&[^&=]+=[^&]*)*)$`);

export interface SpecWithChoice {
  /** The spec without its query. */
  readonly spec: string;
  readonly choice: DatasetChoice;
}

export function splitSpecChoice(text: string): SpecWithChoice {
  const match = QUERY.exec(text);
  if (!match) return { spec: text, choice: {} };
  const choice: { -readonly [K in keyof DatasetChoice]: DatasetChoice[K] } = {};
  for (const pair of match[2].split('&')) {
    const [key, value] = pair.split('=') as [string, string];
    const field = CHOICE_KEYS[key];
    if (!field) throw new UserError(`${text}: unknown source option '${key}' (known: ${Object.keys(CHOICE_KEYS).join(', ')})`);
    if (value === '') throw new UserError(`${text}: source option '${key}' has no value`);
    if (choice[field] !== undefined) throw new UserError(`${text}: source option '${key}' is given twice`);
    choice[field] = decodeURIComponent(value);
  }
  return { spec: match[1], choice };
}

/** The spec with `choice` written as its query (experiment configs give the choice as fields). */
export function joinSpecChoice(spec: string, choice: DatasetChoice): string {
  const pairs = Object.entries(CHOICE_KEYS).flatMap(([key, field]) => (choice[field] === undefined ? [] : [`${key}=${encodeURIComponent(choice[field]!)}`]));
  return pairs.length === 0 ? spec : `${spec}?${pairs.join('&')}`;
}

/** The spec's own choices, then the command's defaults for the rest. */
export function mergeChoice(own: DatasetChoice, defaults: DatasetChoice): DatasetChoice {
  return {
    split: own.split ?? defaults.split,
    imageColumn: own.imageColumn ?? defaults.imageColumn,
    labelColumn: own.labelColumn ?? defaults.labelColumn,
  };
}

/**
 * The spec with the command's choices (flags, config fields) written into its query where it sets none, so the
 * spec alone says what was read: generate records it in the release config.
 */
export function withChoiceDefaults(text: string, defaults: DatasetChoice): string {
  const { spec, choice } = splitSpecChoice(text);
  return joinSpecChoice(spec, mergeChoice(choice, defaults));
}
