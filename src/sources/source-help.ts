/** The registry of source kinds in words: the flags' one-line syntax, the commands' epilog and the README table. */
import { SOURCE_KINDS } from './source-kinds.js';

/** One line for flag descriptions. */
export function sourceSpecHelp(): string {
  const kinds = SOURCE_KINDS.map((kind) => `${kind.prefix}${kind.syntax}`).join(', ');
  return `a path (opened by content) or ${kinds}; dataset options as SPEC?split=S&image-column=C&label-column=L`;
}

/** Words of `text` in lines of at most `width` characters, each after `indent`. */
function wrapWords(text: string, width: number, indent: string): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(indent + line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  return [...lines, indent + line];
}

/**
 * The kinds with their descriptions, for the epilog of every command that reads images. Wrapped here at word
 * boundaries: yargs breaks an epilog line wherever it hits the terminal width (src/cli/main.ts wraps at ≤ 110).
 */
export function sourceKindsHelp(): string {
  const intro = 'Data sources: a bare path is tried against each kind in this order; SPEC?split=S&image-column=C&label-column=L chooses within a dataset.';
  const kinds = SOURCE_KINDS.flatMap((kind) => [`  ${kind.prefix}${kind.syntax}`, ...wrapWords(kind.description, 96, '      ')]);
  return [...wrapWords(intro, 100, ''), ...kinds].join('\n');
}

/** The README's table of source kinds. */
export function sourceKindsMarkdown(): string {
  const cell = (text: string) => text.replaceAll('|', '\\|');
  const rows = SOURCE_KINDS.map((kind) => `| \`${kind.name}\` | \`${cell(kind.prefix + kind.syntax)}\` | ${cell(kind.description)} |`);
  return ['| kind | explicit spec | what it reads |', '| --- | --- | --- |', ...rows].join('\n');
}
