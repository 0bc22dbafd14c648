/**
 * What makes two runs of `advood generate` the same run, for the two places that meet an earlier run in an
 * output folder: the writer resuming an interrupted run (its journal) and generate meeting a finished release
 * (its manifest). A refusal lists every difference, and when the folder is one part of a sharded run it names
 * the `--shard i/n` that continues it: a Slurm task resubmitted on its own cannot know its part from the
 * environment (shard-spec.ts).
 */
import { canonicalJson } from '../../core/canonical-json.js';
import type { ReleaseSchemaInfo } from '../release-columns.js';
import type { ShardSpec } from '../release-manifest.js';
import { shardFlag } from './shard-spec.js';

export interface RunIdentity {
  paramsHash: string;
  schema: ReleaseSchemaInfo;
  shard: ShardSpec | null;
  /** Where the data files are cut; absent where the earlier run did not record it (a sealed manifest). */
  shardBytes?: number;
}

export function runDifferences(was: RunIdentity, now: RunIdentity): string[] {
  const differences: string[] = [];
  if (was.paramsHash !== now.paramsHash) differences.push(`run hash ${was.paramsHash} → ${now.paramsHash}`);
  // Compared canonically: a sealed manifest stores its JSON with sorted keys.
  if (canonicalJson(was.schema) !== canonicalJson(now.schema)) differences.push('columns (class names, feature size or clean-image flag)');
  if (was.shardBytes !== undefined && now.shardBytes !== undefined && was.shardBytes !== now.shardBytes) differences.push(`shard size ${was.shardBytes} → ${now.shardBytes}`);
  if (canonicalJson(was.shard) !== canonicalJson(now.shard)) differences.push(`source part ${JSON.stringify(was.shard && { index: was.shard.index, count: was.shard.count })} → ${JSON.stringify(now.shard)}`);
  return differences;
}

/** The refusal's advice: the `--shard` that names the folder's part, when only the part differs. */
export function continueAdvice(was: RunIdentity, differences: readonly string[], otherwise: string): string {
  if (was.shard !== null && differences.length === 1 && differences[0]!.startsWith('source part')) {
    return `this folder is part ${was.shard.index}/${was.shard.count}: rerun with ${shardFlag(was.shard)} to continue it`;
  }
  return otherwise;
}
