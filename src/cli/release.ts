/**
 * `advood release verify|export|merge|card|push`: work on finished releases (writing one is `advood generate`).
 */
import { resolve } from 'node:path';
import type { Argv, CommandModule } from 'yargs';
import { defaultExportDir } from '../release/export/export-target.js';
import { EXPORTERS, exporterNamed } from '../release/export/exporters.js';
import { mergeReleases } from '../release/write/release-merge.js';
import { rewriteCard } from '../release/write/release-metadata.js';
import { verifyRelease } from '../release/read/release-verify.js';
import { commandLine } from './command-line.js';
import { createProgress } from './progress.js';
import { pushCommand } from './release-push.js';

interface GlobalArgs {
  json: boolean;
}

const verifyCommand: CommandModule<GlobalArgs, GlobalArgs & { dir: string }> = {
  command: 'verify <dir>',
  describe: 'Recompute every sha256 and check schema, metadata, row counts and the shard list; exit 1 naming each bad file',
  builder: (y) => y.positional('dir', { type: 'string', demandOption: true, describe: 'release directory' }) as Argv<GlobalArgs & { dir: string }>,
  handler: async (args) => {
    const report = await verifyRelease(args.dir);
    if (args.json) {
      process.stdout.write(JSON.stringify({ dir: args.dir, ...report }) + '\n');
    } else {
      // Notes first: they say what verify changed (a stale lock removed) before what it found.
      for (const note of report.notes) process.stdout.write(`${args.dir}: note: ${note}\n`);
      if (report.ok) process.stdout.write(`${args.dir}: OK (${report.filesChecked} files, ${report.rowsChecked} rows)\n`);
      else for (const p of report.problems) process.stderr.write(`${resolve(args.dir, p.file)}: ${p.problem}\n`);
    }
    if (!report.ok) process.exitCode = 1;
  },
};

interface ExportArgs extends GlobalArgs {
  dir: string;
  to: string;
  out?: string;
  overwrite: boolean;
}

const exportCommand: CommandModule<GlobalArgs, ExportArgs> = {
  command: 'export <dir>',
  describe: 'Export a verified release as an ImageFolder tree of PNGs or as Hub-ready Parquet (data/train-*.parquet)',
  builder: (y) =>
    y
      .positional('dir', { type: 'string', demandOption: true, describe: 'release directory' })
      .option('to', {
        type: 'string',
        choices: EXPORTERS.map((e) => e.name),
        demandOption: true,
        describe: `export format: ${EXPORTERS.map((e) => `${e.name} (${e.description})`).join('; ')}`,
      })
      .option('out', { type: 'string', describe: 'output folder (default: next to the release, DIR-<format>); new or empty' })
      .option('overwrite', { type: 'boolean', default: false, describe: 'write into a non-empty --out, replacing files of the same name' }) as Argv<ExportArgs>,
  handler: async (args) => {
    // The exporters verify the release themselves before reading it.
    const out = args.out ?? defaultExportDir(args.dir, args.to);
    const exporter = exporterNamed(args.to);
    const progress = createProgress(`export ${args.to}`, 1, { json: args.json });
    const counts = await exporter.run(args.dir, out, { overwrite: args.overwrite });
    progress.tick(1);
    progress.done({ out, ...counts });
  },
};

interface MergeArgs extends GlobalArgs {
  dirs: string[];
  out: string;
}

const mergeCommand: CommandModule<GlobalArgs, MergeArgs> = {
  command: 'merge <dirs..>',
  describe: 'Merge the parts of one sharded run (--shard i/n) into one release whose manifest covers everything',
  builder: (y) =>
    y
      .positional('dirs', { type: 'string', array: true, demandOption: true, describe: 'part releases' })
      .option('out', { type: 'string', demandOption: true, describe: 'merged release directory (new or empty)' }) as Argv<MergeArgs>,
  handler: async (args) => {
    const manifest = await mergeReleases(args.dirs, args.out, commandLine());
    const summary = { out: args.out, rows: manifest.counts.rows, shards: manifest.counts.shards, errors: manifest.counts.errors };
    process.stdout.write(args.json ? JSON.stringify(summary) + '\n' : `merged ${args.dirs.length} parts into ${args.out}: ${summary.rows} rows in ${summary.shards} shards\n`);
  },
};

const cardCommand: CommandModule<GlobalArgs, GlobalArgs & { dir: string }> = {
  command: 'card <dir>',
  describe: 'Regenerate the README.md dataset card from the manifest (and update its sha256 there)',
  builder: (y) => y.positional('dir', { type: 'string', demandOption: true, describe: 'release directory' }) as Argv<GlobalArgs & { dir: string }>,
  handler: async (args) => {
    await rewriteCard(args.dir);
    process.stdout.write(args.json ? JSON.stringify({ card: resolve(args.dir, 'README.md') }) + '\n' : `wrote ${resolve(args.dir, 'README.md')}\n`);
  },
};

export const releaseCommand: CommandModule<GlobalArgs, GlobalArgs> = {
  command: 'release',
  describe: 'Verify, export, merge, document and publish released datasets',
  builder: (y) =>
    y.command(verifyCommand).command(exportCommand).command(mergeCommand).command(cardCommand).command(pushCommand).demandCommand(1, 'Name a release command; see advood release --help.') as Argv<GlobalArgs>,
  handler: () => {},
};
