/**
 * The flags every command that reads images shares: the dataset choices of Hugging Face sources. They fill in
 * what a spec's own `?split=…` query leaves out (src/sources/source-spec.ts).
 */
import type { Options } from 'yargs';
import type { DatasetChoice } from '../sources/readers/hf-dataset-columns.js';
import { withChoiceDefaults } from '../sources/source-spec.js';

export const SOURCE_OPTIONS = {
  split: { type: 'string', describe: "dataset split of Hugging Face sources (default: train, or the only one); per source: SPEC?split=S" },
  'image-column': { type: 'string', describe: 'image column of Hugging Face sources (default: the one Image feature)' },
  'label-column': { type: 'string', describe: 'label column of Hugging Face sources (default: the one ClassLabel; else unlabelled)' },
} as const satisfies Record<string, Options>;

export interface SourceArgs {
  split?: string;
  'image-column'?: string;
  'label-column'?: string;
}

/** `spec` with the command's --split/--image-column/--label-column where the spec sets none. */
export function specWithSourceFlags(spec: string, args: SourceArgs): string {
  const choice: DatasetChoice = { split: args.split, imageColumn: args['image-column'], labelColumn: args['label-column'] };
  return withChoiceDefaults(spec, choice);
}
