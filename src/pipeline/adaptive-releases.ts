/**
 * `advood evaluate --adaptive`: for every differentiable detector under evaluation, a release attacked on that
 * detector's own score (Carlini et al. 2019, "On Evaluating Adversarial Robustness"; Tramèr et al. 2020, "On
 * Adaptive Attacks to Adversarial Example Defenses"), so each detector is measured against an attack on its
 * own decision function and not only against the paper's feature collision.
 *
 * Each detector is attacked by every attack of `attacks` (ADAPTIVE_ATTACK_DEFAULTS): 'repeat' copies the attack
 * of a paper release given with --ood (its resolved params, OOD source, seed) and only swaps the objective for
 * `detector:SPEC`; a preset name (apgd-linf-8, square-linf-8) runs that preset on the same images, seed, input
 * size, feature kind and batch, so that the evaluation has APGD with restarts and a gradient-free check beside
 * it (Croce & Hein 2020), and the report their per-item worst case. The detector is fitted on evaluate's
 * --id-train. The releases live in <out>/adaptive/<detector>[-<preset>]-<key>, the key a hash of everything they
 * depend on (the base run, the detector spec, the ID train source, the attack and its size overrides): a second
 * evaluation with the same inputs reuses a finished one as it is, resumes an interrupted one (generate's
 * journal), and changed inputs get a new directory.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type AttackParams, type ResolvedAttackPreset, attackPresetNames, resolveAttackPreset } from '../../attacks/attack-params.js';
import type { AdaptiveAttack } from '../metrics/evaluation-result.js';
import { detectorObjectiveName } from '../../attacks/objective.js';
import { canonicalJson } from '../core/canonical-json.js';
import { sha256Hex } from '../core/digest.js';
import { ItemError, UserError, errorMessage } from '../core/errors.js';
import { firstItems } from '../data/first-items.js';
import type { ImageSource } from '../data/image-source.js';
import { preprocessFor } from '../data/preprocess.js';
import { type DetectorSpec, detectorEntry, detectorSpecName, detectorSpecText } from '../detectors/registry.js';
import type { Encoder } from '../models/encoder.js';
import type { ReleaseImageSource } from '../release/read/release-image-source.js';
import { MANIFEST_FILE } from '../release/release-manifest.js';
import type { BackendReport } from '../runtime/backend.js';
import { openImageSource } from '../sources/open-source.js';
import { chooseObjectiveDetector } from './detector-objective.js';
import { generateRelease } from './generate.js';
import { type GenerationConfig, readGenerationConfig } from './generation-config.js';

/** How large the adaptive attacks are; absent fields copy the base release (or the preset). */
export interface AdaptiveSize {
  /** Attack the first N images of the base release's OOD source. */
  n?: number;
  /** Optimiser steps of the gradient attacks (a detector objective has no early stop, so every item runs all of them). */
  steps?: number;
  /** Queries per item of the Square attack. */
  queries?: number;
  /** Random starts per item of the preset attacks. */
  restarts?: number;
  /** 'repeat' (the base release's attack on the score) and attack presets; default ADAPTIVE_ATTACK_DEFAULTS. */
  attacks?: readonly string[];
}

/** The base release's attack on each score, APGD at AutoAttack's L∞ budget, and Square at the same budget. */
export const ADAPTIVE_ATTACK_DEFAULTS = ['repeat', 'apgd-linf-8', 'square-linf-8'] as const;
export const REPEAT_ATTACK = 'repeat';

/** Which kind of attack on a score a preset is (src/metrics/evaluation-result.ts, ADAPTIVE_ATTACKS). */
export function adaptiveAttackOf(params: AttackParams): AdaptiveAttack {
  if (params.attack === 'square') return 'square';
  return params.optimiser === 'apgd' ? 'apgd' : 'gradient';
}

export interface AdaptiveReleaseOptions {
  encoder: Encoder;
  /** The paper release whose attack the adaptive ones copy. */
  base: ReleaseImageSource;
  detectors: readonly (string | DetectorSpec)[];
  /** evaluate's --id-train (and its first-N), on which each attacked detector is fitted. */
  idTrain: string;
  idTrainN?: number;
  fullIdTrain: ImageSource;
  /** Parent directory of the adaptive releases. */
  dir: string;
  size: AdaptiveSize;
  backend: BackendReport;
  command: string;
  onStage?: (message: string) => void;
}

export interface AdaptiveRelease {
  /** Report name of the attacked detector. */
  detector: string;
  /** 'repeat' or the preset that attacked it. */
  attack: string;
  dir: string;
}

/** The OOD set name of an adaptive release: 'adaptive-<detector>' for the repeated attack, else with the preset. */
export function adaptiveSetName(release: Pick<AdaptiveRelease, 'detector' | 'attack'>): string {
  return release.attack === REPEAT_ATTACK ? `adaptive-${release.detector}` : `adaptive-${release.detector}-${release.attack}`;
}

/** The base run's generation config; one line when it cannot be repeated. */
function baseRunConfig(base: ReleaseImageSource): GenerationConfig {
  const config = readGenerationConfig(base.release.manifest);
  const dir = base.release.dir;
  if (!config) throw new UserError(`${dir}: its manifest does not record the attack, OOD source and seed that --adaptive needs to repeat it`);
  if (config.objective !== undefined) throw new UserError(`${dir}: --adaptive needs a paper (feature-collision) release to copy, and this one is itself adaptive`);
  return config;
}

/**
 * The base run's preset, resolved once with `overrides` (every param, so the result is the recorded params with
 * the size overrides): it contributes only its name and description, to the rows and the card. A shipped preset
 * is found by its name; another by the file it was read from, when that still exists.
 */
function recordedPreset(config: GenerationConfig, overrides: Record<string, unknown>): ResolvedAttackPreset {
  const { preset, origin } = config.attack;
  return resolveAttackPreset(attackPresetNames().includes(preset) || !existsSync(origin) ? preset : origin, overrides);
}

/** The first paper release among the OOD sets: the attack the adaptive releases copy. */
export function adaptiveBase(sources: readonly { release?: ReleaseImageSource }[]): ReleaseImageSource {
  const base = sources.map((s) => s.release).find((r) => r !== undefined && readGenerationConfig(r.release.manifest)?.objective === undefined);
  if (!base) throw new UserError('--adaptive needs a paper release among --ood (an advood release made with the default objective) whose attack it repeats per detector');
  return base;
}

/** The encoder input size the base release was attacked at (null: the target's default). */
export function adaptiveInputSize(base: ReleaseImageSource): number | null {
  return baseRunConfig(base).attack.params.inputSize;
}

/** Generates (or reuses) one release per differentiable detector; returns them in detector order. */
export async function generateAdaptiveReleases(options: AdaptiveReleaseOptions): Promise<AdaptiveRelease[]> {
  const config = baseRunConfig(options.base);
  const recorded = config.idSource?.fingerprint;
  if (recorded !== undefined && recorded !== options.fullIdTrain.fingerprint) {
    throw new UserError(`${options.base.release.dir}: it was attacked against another ID source than --id-train; --adaptive fits the attacked detectors on --id-train, so pass the same one`);
  }
  const stage = options.onStage ?? (() => {});
  const n = options.size.n ?? config.n ?? undefined;
  let sameImagesChecked = false;
  const attacks = adaptiveAttacks(options.size, config);
  const out: AdaptiveRelease[] = [];
  for (const spec of options.detectors) {
    const specText = typeof spec === 'string' ? spec : detectorSpecText(spec);
    const name = detectorSpecName(spec);
    if (!detectorEntry(name).differentiable) {
      stage(`adaptive: ${name} has no differentiable score; it is evaluated under the paper's attack only`);
      continue;
    }
    for (const { attack, preset, keyed } of attacks) {
      // The detector is built per release: its report name keys the release, and the same instance is fitted and attacked.
      const chosen = chooseObjectiveDetector(options.encoder, detectorObjectiveName(specText))!;
      const detector = chosen.detector.name;
      const key = sha256Hex(
        canonicalJson({ base: options.base.release.manifest.paramsHash, objective: specText, idTrain: options.fullIdTrain.fingerprint, idTrainN: options.idTrainN ?? null, n: n ?? null, ...keyed }),
      ).slice(0, 12);
      const dir = join(options.dir, attack === REPEAT_ATTACK ? `${detector}-${key}` : `${detector}-${attack}-${key}`);
      const label = attack === REPEAT_ATTACK ? detector : `${detector} (${attack})`;
      out.push({ detector, attack, dir });
      if (existsSync(join(dir, MANIFEST_FILE))) {
        // Finished earlier with the same inputs (the key says so); evaluate verifies its bytes when it opens it.
        stage(`adaptive ${label}: reusing the finished release in ${dir}`);
        continue;
      }
      if (!sameImagesChecked) {
        await checkSameOodImages(options, config.ood, n, config.n);
        sameImagesChecked = true;
      }
      stage(`adaptive: attacking ${detector}'s own score${attack === REPEAT_ATTACK ? '' : ` with ${attack}`} (${dir})`);
      await generateRelease({
        encoder: options.encoder,
        id: options.idTrain,
        idN: options.idTrainN,
        ood: config.ood,
        n,
        attack: preset,
        objective: chosen,
        seed: config.seed,
        out: dir,
        backend: options.backend,
        command: options.command,
        onProgress: (event) => {
          if (event.kind === 'batch') stage(`adaptive ${label}: attacked ${event.done}/${event.total}`);
        },
      });
    }
  }
  return out;
}

/** Refuses unknown attacks in `size.attacks` before any work (one line, from the preset resolver). */
export function checkAdaptiveAttacks(size: AdaptiveSize): void {
  const names = size.attacks ?? ADAPTIVE_ATTACK_DEFAULTS;
  if (names.length === 0) throw new UserError('--adaptive-attacks: name at least one attack (repeat, or a preset)');
  for (const name of names) if (name !== REPEAT_ATTACK) resolveAttackPreset(name);
}

/**
 * The attacks to run on each score, resolved once: 'repeat' is the base release's preset with the size
 * overrides; a preset runs at the base release's input size, feature kind, batch and target strategy (what the
 * worst-case table compares on), with --adaptive-steps (gradient presets) or --adaptive-queries (Square) and
 * --adaptive-restarts. `keyed` is what the release directory's key hashes.
 */
function adaptiveAttacks(size: AdaptiveSize, config: GenerationConfig): { attack: string; preset: ResolvedAttackPreset; keyed: Record<string, unknown> }[] {
  checkAdaptiveAttacks(size);
  return [...new Set(size.attacks ?? ADAPTIVE_ATTACK_DEFAULTS)].map((attack) => {
    if (attack === REPEAT_ATTACK) {
      // The key of the repeated attack is what it was before other attacks existed, so earlier releases are reused.
      const overrides = { ...config.attack.params, ...(size.steps !== undefined && { steps: size.steps }) };
      return { attack, preset: recordedPreset(config, overrides), keyed: { overrides } };
    }
    const base = config.attack.params;
    const shared = { inputSize: base.inputSize, features: base.features, batch: base.batch, target: base.target, ...(size.restarts !== undefined && { restarts: size.restarts }) };
    const kind = adaptiveAttackOf(resolveAttackPreset(attack).params);
    const length = kind === 'square' ? size.queries : size.steps;
    const overrides = { ...shared, ...(length !== undefined && { steps: length }) };
    return { attack, preset: resolveAttackPreset(attack, overrides), keyed: { attack, overrides } };
  });
}

/**
 * An adaptive release repeats the paper release's attack on the same images, so that the worst-case table
 * compares detectors on one set of inputs: every image to be attacked that the paper release attacked (a row's
 * source_id) must have the bytes it had then (source_sha256), and when the adaptive releases are as large as the
 * paper release, none of its images may be gone. Checked once, before the first attack; a changed, missing or
 * unreadable image is one line naming it.
 */
async function checkSameOodImages(options: AdaptiveReleaseOptions, ood: string, n: number | undefined, paperN: number | null): Promise<void> {
  const source = firstItems(await openImageSource(ood), n, '--adaptive-n', ood);
  const paperRows = new Map(options.base.rows.map((row) => [row.sourceId, row]));
  const preprocess = preprocessFor(options.encoder);
  const paper = options.base.release.dir;
  const refuse = (id: string, what: string) =>
    new UserError(`${ood}: '${id}' ${what}; the adaptive releases would attack other images than the paper release ${paper}, so their scores could not stand beside its own: restore the OOD source, or regenerate the paper release`);
  for (const item of source.items) {
    const row = paperRows.get(item.id);
    if (!row) continue; // the paper release could not attack it either (recorded among its errors), or --adaptive-n goes beyond it
    paperRows.delete(item.id);
    let sha256: string;
    try {
      sha256 = (await source.load(item, preprocess)).sourceSha256;
    } catch (error) {
      if (!(error instanceof ItemError) && !(error instanceof UserError)) throw error;
      throw refuse(item.id, `cannot be read now (${errorMessage(error)})`);
    }
    if (sha256 !== row.sourceSha256) throw refuse(item.id, `has other bytes (sha256 ${sha256.slice(0, 12)}…) than those the paper release attacked (${row.sourceSha256.slice(0, 12)}…)`);
  }
  const gone = paperRows.keys().next();
  if (!gone.done && (n === undefined || (paperN !== null && n >= paperN))) throw refuse(gone.value, 'is gone');
}
