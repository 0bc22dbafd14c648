/**
 * `advood release push DIR --repo OWNER/NAME`: flags → pushReleaseToHub (src/publish/hub-push.ts) → one line per
 * file on stderr (JSON events on stdout with --json) and, only once the Hub's listing matched, the repository
 * URL and commit.
 */
import type { Argv, CommandModule } from 'yargs';
import { hubEndpoint, hubToken } from '../hub/hub-endpoint.js';
import { pushReleaseToHub } from '../publish/hub-push.js';

interface PushArgs {
  json: boolean;
  dir: string;
  repo: string;
  token?: string;
  private: boolean;
  revision: string;
  message?: string;
  parquet?: string;
}

const kib = (bytes: number) => (bytes < 1024 * 1024 ? `${(bytes / 1024).toFixed(1)} KiB` : `${(bytes / 1024 ** 2).toFixed(1)} MiB`);

export const pushCommand: CommandModule<{ json: boolean }, PushArgs> = {
  command: 'push <dir>',
  describe: 'Publish a verified release to a Hugging Face Hub dataset repository: Parquet under data/, the release under release/, README.md card',
  builder: (y) =>
    y
      .positional('dir', { type: 'string', demandOption: true, describe: 'release directory' })
      .option('repo', { type: 'string', demandOption: true, describe: 'dataset repository OWNER/NAME (created when absent)' })
      .option('token', { type: 'string', describe: 'Hugging Face write token hf_… (default: $HF_TOKEN); the Hub is $HF_ENDPOINT, default https://huggingface.co' })
      .option('private', { type: 'boolean', default: false, describe: 'create the repository private (an existing one keeps its visibility)' })
      .option('revision', { type: 'string', default: 'main', describe: 'branch to push to (created from main when absent)' })
      .option('message', { type: 'string', describe: 'commit title' })
      .option('parquet', { type: 'string', describe: 'the Parquet export to push (default: DIR-parquet next to the release, made when absent)' }) as Argv<PushArgs>,
  handler: async (args) => {
    const endpoint = hubEndpoint();
    const token = hubToken(args.token, endpoint);
    const emit = (event: string, fields: Record<string, unknown>) => process.stdout.write(JSON.stringify({ event, task: 'release push', ...fields }) + '\n');
    const result = await pushReleaseToHub({
      releaseDir: args.dir,
      repo: args.repo,
      token,
      endpoint,
      revision: args.revision,
      private: args.private,
      message: args.message,
      parquetDir: args.parquet,
      onFile: (e) => (args.json ? emit('file', { ...e }) : process.stderr.write(`  ${e.path}: ${e.state}${e.size ? ` (${kib(e.size)})` : ''}\n`)),
      log: (m) => (args.json ? emit('log', { message: m }) : process.stderr.write(`${m}\n`)),
    });
    const summary = { url: result.url, commit: result.commit, uploaded: result.uploaded.length, unchanged: result.unchanged.length, deleted: result.deleted.length, commits: result.commits.length };
    if (args.json) emit('done', summary);
    else if (result.commits.length === 0) process.stdout.write(`${result.url} is up to date at commit ${result.commit} (nothing uploaded)\n`);
    else process.stdout.write(`pushed to ${result.url} at commit ${result.commit} (${summary.uploaded} files uploaded, ${summary.unchanged} unchanged, ${summary.deleted} deleted, ${summary.commits} commits)\n`);
  },
};
