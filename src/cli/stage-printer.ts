/**
 * Stage messages of a command ("loading target vit-g", "ID features of …"): `<command>: message` on stderr
 * for people, or one {"event": "stage", "message"} line on stdout with --json, next to the progress events.
 */
export type StagePrinter = (message: string) => void;

export function stagePrinter(command: string, json: boolean): StagePrinter {
  return (message) => {
    if (json) process.stdout.write(JSON.stringify({ event: 'stage', message }) + '\n');
    else process.stderr.write(`${command}: ${message}\n`);
  };
}
