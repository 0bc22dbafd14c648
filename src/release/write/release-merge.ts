/**
 * `advood release merge A B … --out R`: joins the parts of one sharded run (`--shard i/n` on n machines) into
 * one release. Each input is verified first; all must share the schema, config, run hash, model and seed
 * and together cover parts 0…n-1 exactly once. Shards are copied in part order (contiguous partition, see
 * shard-spec.ts), so the merged rows are in the unsharded run's order; the manifest covers every file.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import { basename, isAbsolute, join, relative, resolve } from 'node:path';
import { UserError } from '../../core/errors.js';
import { acquireOutputLock, checkOutputFolder } from '../../core/output-lock.js';
import { fsyncDirectory } from './atomic-file.js';
import { realPathOf, refuseOutputInRelease } from '../release-folder.js';
import { digestFile } from '../../core/digest.js';
import { resolveReleaseFile, shardFileName } from '../hf-layout.js';
import { readManifest, type ReleaseManifest } from '../release-manifest.js';
import { type FinishedShard, writeReleaseMetadata } from './release-metadata.js';
import { verifyRelease } from '../read/release-verify.js';

export async function mergeReleases(inputs: readonly string[], out: string, command: string): Promise<ReleaseManifest> {
  if (inputs.length < 2) throw new UserError('merge needs at least two releases');
  for (const dir of inputs) refuseOutputWithin(dir, out);
  refuseOutputInRelease(out);
  checkOutputFolder(out);
  if (existsSync(out) && readdirSync(out).length > 0) throw new UserError(`--out ${out} exists and is not empty`);
  const parts: { dir: string; manifest: ReleaseManifest }[] = [];
  for (const dir of inputs) {
    const report = await verifyRelease(dir);
    if (!report.ok) {
      throw new UserError(`${dir} does not verify; fix or regenerate it before merging:\n` + report.problems.map((p) => `  ${p.file}: ${p.problem}`).join('\n'));
    }
    parts.push({ dir, manifest: readManifest(dir).manifest });
  }

  const first = parts[0]!.manifest;
  for (const { dir, manifest } of parts.slice(1)) {
    const differs = (what: string, a: unknown, b: unknown) => {
      if (JSON.stringify(a) !== JSON.stringify(b)) throw new UserError(`${dir}: ${what} differs from ${parts[0]!.dir}; only parts of the same run can be merged`);
    };
    differs('the schema', manifest.schema, first.schema);
    differs('the config', manifest.config, first.config);
    differs('the run hash', manifest.paramsHash, first.paramsHash);
    differs('the model', manifest.model, first.model);
    differs('the seed', manifest.seed, first.seed);
  }
  const count = first.shard?.count;
  for (const { dir, manifest } of parts) {
    if (!manifest.shard || manifest.shard.count !== count) {
      throw new UserError(`${dir}: is part ${JSON.stringify(manifest.shard)}, but merging needs parts of one --shard i/${count ?? 'n'} run`);
    }
  }
  parts.sort((a, b) => a.manifest.shard!.index - b.manifest.shard!.index);
  const indices = parts.map((p) => p.manifest.shard!.index);
  const missing = Array.from({ length: count! }, (_, i) => i).filter((i) => !indices.includes(i));
  const repeated = indices.filter((i, k) => indices.indexOf(i) !== k);
  if (repeated.length) throw new UserError(`part ${repeated[0]}/${count} is given twice`);
  if (missing.length) throw new UserError(`parts ${missing.map((i) => `${i}/${count}`).join(', ')} are missing; all ${count} parts are needed`);

  const lock = acquireOutputLock(out, 'advood release merge');
  try {
    return await writeMerged(parts, out, command);
  } finally {
    lock.release();
  }
}

/**
 * An output equal to or inside an input would be written into that release (breaking it) or make the input
 * part of the output. Compared by real paths, so a symlinked spelling of the same folder counts too.
 */
function refuseOutputWithin(input: string, out: string): void {
  const rel = relative(realPathOf(input), realPathOf(out));
  if (rel === '' || (!rel.startsWith('..') && !isAbsolute(rel))) {
    throw new UserError(`--out ${out} is ${rel === '' ? 'the input release' : 'inside the input release'} ${input}; merge into a new folder outside the inputs`);
  }
}

async function writeMerged(parts: { dir: string; manifest: ReleaseManifest }[], out: string, command: string): Promise<ReleaseManifest> {
  const first = parts[0]!.manifest;
  mkdirSync(out, { recursive: true });
  const total = parts.reduce((n, p) => n + p.manifest.shards.length, 0);
  const shards: FinishedShard[] = [];
  for (const { dir, manifest } of parts) {
    for (const shard of manifest.shards) {
      const filename = shardFileName(shards.length, total);
      const target = join(out, filename);
      copyFileSync(resolveReleaseFile(dir, shard.filename, join(dir, 'manifest.json')), target);
      const digest = await digestFile(target);
      shards.push({ filename, rows: shard.rows, sha256: digest.sha256, size: digest.size });
    }
  }
  fsyncDirectory(out);
  return writeReleaseMetadata(
    out,
    {
      command,
      seed: first.seed,
      versions: first.versions,
      model: first.model,
      card: first.card,
      config: first.config,
      paramsHash: first.paramsHash,
      schema: first.schema,
      shard: null,
      mergedFrom: parts.map(({ dir, manifest }) => ({ name: basename(resolve(dir)), shard: manifest.shard, manifestSha256: manifest.manifestSha256 })),
      errors: parts.flatMap((p) => p.manifest.errors),
      itemsConsumed: parts.reduce((n, p) => n + p.manifest.counts.itemsConsumed, 0),
    },
    shards,
  );
}
