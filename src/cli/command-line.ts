/** The command line as typed, shell-quoted so that it can be pasted back: recorded in manifests and reports. */
export function commandLine(argv: readonly string[] = process.argv.slice(2)): string {
  const quote = (a: string) => (/^[\w@%+=:,./-]+$/.test(a) ? a : `'${a.replace(/'/g, `'\\''`)}'`);
  return ['advood', ...argv].map(quote).join(' ');
}
