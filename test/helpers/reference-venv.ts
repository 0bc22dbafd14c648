/**
 * The Python references (test/reference/*.py) run in the venv scripts/reference-venv.sh makes (PyTorch 2.x CPU,
 * open_clip). Where it cannot be made (no python3-venv, no package index), tests that need it skip and say why.
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { advoodCacheDir } from '../../src/core/cache-dir.js';

const REPO = fileURLToPath(new URL('../..', import.meta.url));

let cached: { python: string } | { unavailable: string } | null = null;

export function referencePython(): { python: string } | { unavailable: string } {
  if (cached) return cached;
  const result = spawnSync('bash', [join(REPO, 'scripts', 'reference-venv.sh')], { cwd: REPO, encoding: 'utf8' });
  const python = result.stdout.trim().split('\n').at(-1) ?? '';
  cached =
    result.status === 0 && python
      ? { python: join(REPO, python) }
      : { unavailable: `the reference venv could not be made (${(result.stderr || '').trim().split('\n').at(-1) || `exit ${result.status}`})` };
  return cached;
}

/**
 * Moves a finished reference into place. Two test files can make the same reference at once (ava runs files in
 * parallel): the second to finish finds the first one's directory there, identical, and drops its own.
 */
function publish(scratch: string, dir: string): string {
  try {
    renameSync(scratch, dir);
  } catch (error) {
    if (!existsSync(join(dir, 'meta.json'))) throw error;
    rmSync(scratch, { recursive: true, force: true });
  }
  return dir;
}

/**
 * A random open_clip model with open_clip's own outputs (test/reference/openclip_reference.py make), made once
 * into advood's cache and reused: the suite runs once per backend. With `prompts`, also its projected image and
 * text embeddings.
 */
export function openClipReference(python: string, model: string, options: { seed: number; batch: number; prompts?: readonly string[] }): string {
  const script = join(REPO, 'test', 'reference', 'openclip_reference.py');
  // The script's digest in the name: an edited script never reuses the outputs of an older one.
  const version = createHash('sha256').update(readFileSync(script)).digest('hex').slice(0, 12);
  const text = options.prompts ? `-text${createHash('sha256').update(JSON.stringify(options.prompts)).digest('hex').slice(0, 8)}` : '';
  const dir = join(advoodCacheDir('reference'), `openclip-${model}-seed${options.seed}-batch${options.batch}${text}-${version}`);
  if (existsSync(join(dir, 'meta.json'))) return dir;
  const scratch = `${dir}.${process.pid}.tmp`;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  const args = [script, 'make', '--model', model, '--out', scratch, '--seed', String(options.seed), '--batch', String(options.batch)];
  if (options.prompts) args.push('--prompts', JSON.stringify(options.prompts));
  const result = spawnSync(python, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (result.status !== 0) throw new Error(`openclip_reference.py make ${model} failed: ${(result.stderr || '').trim().split('\n').slice(-3).join(' ')}`);
  return publish(scratch, dir);
}

/**
 * A tiny random model built and saved by transformers itself, with transformers' own outputs
 * (test/reference/transformers_reference.py make), made once into advood's cache and reused: the suite runs once
 * per backend. `crop` is the processor's crop size; the config's image_size is 28 (patch 7).
 */
export function transformersReference(python: string, variant: string, options: { crop: number; seed?: number; batch?: number }): string {
  const seed = options.seed ?? 0;
  const batch = options.batch ?? 2;
  const script = join(REPO, 'test', 'reference', 'transformers_reference.py');
  // The script's digest in the name: an edited script never reuses the outputs of an older one.
  const version = createHash('sha256').update(readFileSync(script)).digest('hex').slice(0, 12);
  const dir = join(advoodCacheDir('reference'), `transformers-${variant}-crop${options.crop}-seed${seed}-batch${batch}-${version}`);
  if (existsSync(join(dir, 'meta.json'))) return dir;
  const scratch = `${dir}.${process.pid}.tmp`;
  rmSync(scratch, { recursive: true, force: true });
  mkdirSync(scratch, { recursive: true });
  const args = [script, 'make', '--variant', variant, '--crop', String(options.crop), '--out', scratch, '--seed', String(seed), '--batch', String(batch)];
  const result = spawnSync(python, args, { encoding: 'utf8', maxBuffer: 1 << 24 });
  if (result.status !== 0) throw new Error(`transformers_reference.py make ${variant} failed: ${(result.stderr || '').trim().split('\n').slice(-3).join(' ')}`);
  return publish(scratch, dir);
}
