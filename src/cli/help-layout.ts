/**
 * How --help is laid out. yargs' CommonJS build is used, not its ES module: the ES build lays out the help with
 * cliui's stand-in wrap, which cuts at the column width inside words ('relative-mahalano bis'); the CommonJS one
 * wraps with wrap-ansi, at words. One more cliui flaw is mended here: it puts an option's right-aligned tags
 * ('[string] [default: …]') on the description's last line when their padding is at least as wide as that line
 * (`leadingWhitespace < targetTextWidth` refuses only narrower), so at equality the two touch with no space
 * ('then merge[number]', at some terminal widths only). Equality now sends the tags to a line of their own.
 */
import { createRequire } from 'node:module';
import type yargsFactory from 'yargs';

const requireHere = createRequire(import.meta.url);
export const yargs = requireHere('yargs') as typeof yargsFactory;

interface CliuiLine {
  text: string;
  span?: boolean;
}
interface CliuiPrototype {
  renderInline(this: unknown, source: string, previousLine: CliuiLine): string;
}

// The cliui that yargs itself loads (resolved from yargs' own folder), so the mended method is the one it calls.
const cliui = createRequire(requireHere.resolve('yargs'))('cliui') as (options: object) => object;
const prototype = Object.getPrototypeOf(cliui({})) as CliuiPrototype;
const renderInline = prototype.renderInline;
prototype.renderInline = function (source, previousLine) {
  const padding = /^ */.exec(source)![0].length;
  if (previousLine.span && padding === [...previousLine.text.trimEnd()].length) return source;
  return renderInline.call(this, source, previousLine);
};

/** --help's width: the terminal's, or 100 columns when stdout is not a terminal (a pipe, a file, CI's log). */
export function helpWidth(columns: number | undefined = process.stdout.columns): number {
  return columns !== undefined && columns > 0 ? columns : 100;
}
