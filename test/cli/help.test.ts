/**
 * `--help` of every command wraps at words, to the terminal's width or to 100 columns when piped. The commands are
 * the ones the CLI itself lists (the Commands: section of each --help, walked down to subcommands), so a new
 * command is checked without editing this file. A word cut across lines shows up as a token of the wrapped text
 * that the same help laid out on a 400-column terminal (a pty from util-linux `script`) does not have.
 */
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { promisify } from 'node:util';
import test from 'ava';
import { helpWidth } from '../../src/cli/help-layout.js';
import { CLI_PATH, advood } from '../helpers/run-cli.js';

const run = promisify(execFile);
const SCRIPT = '/usr/bin/script';
const PIPED_WIDTH = 100;

/** The help of `advood <path> --help` on a terminal `columns` wide. */
async function terminalHelp(path: readonly string[], columns: number): Promise<string> {
  const quote = (a: string) => `'${a.replace(/'/g, `'\\''`)}'`;
  const command = `stty cols ${columns}; ${[process.execPath, CLI_PATH, ...path, '--help'].map(quote).join(' ')}`;
  const { stdout } = await run(SCRIPT, ['-qec', command, '/dev/null'], { maxBuffer: 1 << 24 });
  return stdout.replace(/\r/g, '');
}

async function pipedHelp(path: readonly string[]): Promise<string> {
  const { code, stdout, stderr } = await advood(...path, '--help');
  if (code !== 0) throw new Error(`advood ${path.join(' ')} --help exited ${code}: ${stderr.trim()}`);
  return stdout;
}

/** The command paths a help's Commands: section lists below `path` (e.g. ['release', 'verify']). */
function subcommands(help: string, path: readonly string[]): string[][] {
  const section = /\nCommands:\n([\s\S]*?)(\n\n|$)/.exec(help)?.[1] ?? '';
  const prefix = ['advood', ...path].join(' ') + ' ';
  return section
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line.startsWith(prefix))
    .map((line) => [...path, line.slice(prefix.length).split(/\s+/)[0]!]);
}

async function allCommands(): Promise<{ path: string[]; help: string }[]> {
  const out: { path: string[]; help: string }[] = [];
  const queue: string[][] = [[]];
  while (queue.length > 0) {
    const path = queue.shift()!;
    const help = await pipedHelp(path);
    out.push({ path, help });
    queue.push(...subcommands(help, path));
  }
  return out;
}

const tokens = (text: string) => new Set(text.split(/\s+/).filter((t) => t.length > 0));

test('the help width: the terminal columns, else 100', (t) => {
  t.is(helpWidth(72), 72);
  t.is(helpWidth(undefined), PIPED_WIDTH);
  t.is(helpWidth(0), PIPED_WIDTH);
});

test('--help of every command: no line over 100 columns when piped, no word cut across lines', async (t) => {
  const commands = await allCommands();
  const names = commands.map((c) => c.path.join(' '));
  t.true(names.includes('evaluate') && names.includes('release verify'), `found: ${names.join(', ')}`);
  for (const { path, help } of commands) {
    const name = `advood ${path.join(' ')}`.trim();
    const long = help.split('\n').filter((line) => line.length > PIPED_WIDTH);
    t.deepEqual(long, [], `${name}: lines over ${PIPED_WIDTH} columns`);
    if (!existsSync(SCRIPT)) continue;
    const reference = tokens(await terminalHelp(path, 400));
    const cut = [...tokens(help)].filter((token) => !reference.has(token));
    t.deepEqual(cut, [], `${name}: words not in the same help at 400 columns (cut across lines)`);
  }
  if (!existsSync(SCRIPT)) t.log(`no ${SCRIPT} (util-linux): checked line lengths only, not words against a wide terminal`);
  const evaluate = commands.find((c) => c.path.join(' ') === 'evaluate')!.help.replace(/\s+/g, ' ');
  for (const word of ['relative-mahalanobis', 'ADVOOD_BACKEND', 'adversarial', 'hf://datasets/OWNER/NAME[@REV][/SUBDIR],']) {
    t.true(evaluate.includes(word), `'${word}' whole in advood evaluate --help`);
  }
});

test('on a terminal, --help follows its width', async (t) => {
  if (!existsSync(SCRIPT)) return t.pass(`no ${SCRIPT} (util-linux): no pty to set a width on`);
  const help = await terminalHelp(['evaluate'], 80);
  t.deepEqual(help.split('\n').filter((line) => line.length > 80), []);
  t.true(help.split('\n').some((line) => line.length > 70), 'uses the width it has');
  t.regex(help.replace(/\s+/g, ' '), /relative-mahalanobis/);
  // At 90 columns cliui used to glue generate's --weights description to its tags ('target[string]'; help-layout.ts).
  t.notRegex(await terminalHelp(['generate'], 90), /\S\[(string|number|boolean|array|required)\]/);
});
