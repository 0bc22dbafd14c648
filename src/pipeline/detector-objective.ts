/**
 * The adaptive objective of `advood generate --objective detector:SPEC`: the detector named by SPEC, fitted on
 * the ID train source exactly as `advood evaluate` fits it (same registry options, the same features through
 * the feature cache, the same fit code: fitDetector in src/detectors/evaluate-detectors.ts), climbed by the
 * attack through its scoreTensor.
 *
 * Early stop: none. A cosine has a natural "collided" level (the preset's threshold); a detector's score does
 * not, and the level that matters, the ID test scores at the operating point, is evaluate's to know, not
 * generate's. So a detector objective runs the preset's full step budget.
 *
 * The release records the objective, the detector's report name, its spec and a fingerprint of the fit: sha256
 * over the spec and the bytes of every fit input (the ID train features in each representation, the text
 * embeddings), so two releases attacked on "the same" detector can be told apart when its fit set differed.
 */
import { type AttackObjective, detectorObjectiveName, parseObjective } from '../../attacks/objective.js';
import { canonicalJson } from '../core/canonical-json.js';
import { sha256Hex } from '../core/digest.js';
import { UserError } from '../core/errors.js';
import type { FeatureSet } from '../data/feature-set.js';
import type { FeatureProgress } from '../data/features.js';
import type { ImageSource, Preprocess } from '../data/image-source.js';
import { type DifferentiableDetector, isDifferentiable } from '../detectors/detector.js';
import { type FeatureViews, fitDetector } from '../detectors/evaluate-detectors.js';
import { type DetectorSpec, createDetectors, detectorEntry, parseDetectorSpec, unmetNeed } from '../detectors/registry.js';
import type { Encoder, FeatureKind } from '../models/encoder.js';
import { availableNeeds, evaluatedFeatureKinds, featureViewsOf, hasTextTower, textFeatureSet } from './feature-views.js';
import { type TextEmbedderOptions, cachedTextEmbedder } from './text-embedder.js';

/** What a release attacked on a detector records in its manifest config. */
export interface DetectorObjectiveRecord {
  /** 'detector:<spec>' as given. */
  objective: string;
  /** The detector's report name (what evaluate's tables call it, e.g. 'knn-1'). */
  detector: string;
  spec: DetectorSpec;
  featureKind: FeatureKind;
  fitFingerprint: string;
}

export interface DetectorObjective {
  objective: AttackObjective;
  detector: DifferentiableDetector;
  record: DetectorObjectiveRecord;
}

/** A 'detector:SPEC' objective, parsed and its detector built (not fitted) once, before anything is read or written. */
export interface ChosenDetectorObjective {
  /** 'detector:<spec>' as given. */
  text: string;
  spec: DetectorSpec;
  detector: DifferentiableDetector;
}

export interface DetectorObjectiveOptions {
  encoder: Encoder;
  /** The ID train source (as used: after --id-n). */
  idSource: ImageSource;
  preprocess: Preprocess;
  batchSize: number;
  progress?: (kind: FeatureKind) => FeatureProgress;
  /** Progress of the detector's own text prompts (NegLabel's lexicon), when it has any. */
  textProgress?: Pick<TextEmbedderOptions, 'onBatch' | 'onCacheRejected'>;
}

/** The detector an objective names, built but not fitted; null for the paper's feature-collision objective. */
export function chooseObjectiveDetector(encoder: Encoder, objectiveText: string): ChosenDetectorObjective | null {
  const { detectorSpec } = parseObjective(objectiveText);
  if (detectorSpec === null) return null;
  const spec = parseDetectorSpec(detectorSpec);
  const entry = detectorEntry(spec.name);
  if (!entry.differentiable) throw new UserError(`--objective ${objectiveText}: detector '${spec.name}' has no differentiable score to attack`);
  // Labels are checked when the detector is fitted: the ID source is not open yet.
  const unmet = unmetNeed(entry, availableNeeds(encoder, true));
  if (unmet !== null) throw new UserError(`--objective ${objectiveText}: detector '${spec.name}' ${unmet} (${encoder.id})`);
  const [detector] = createDetectors([spec]);
  if (!detector || !isDifferentiable(detector)) throw new Error(`detector '${spec.name}' is registered as differentiable but has no scoreTensor`);
  return { text: detectorObjectiveName(detectorSpec), spec, detector };
}

/** A fitted detector's ID score as an attack objective: no early stop (see the module comment); targets unused. */
export function detectorAttackObjective(detector: DifferentiableDetector, name: string): AttackObjective {
  return { name, features: detector.featureKind, threshold: null, value: (features) => detector.scoreTensor(features) };
}

function vectorsDigest(set: FeatureSet): string {
  return sha256Hex(new Uint8Array(set.vectors.buffer, set.vectors.byteOffset, set.vectors.byteLength));
}

/** Fits the chosen objective's detector on the ID train source. */
export async function fitDetectorObjective(chosen: ChosenDetectorObjective, options: DetectorObjectiveOptions): Promise<DetectorObjective> {
  const { spec, detector, text: name } = chosen;
  const train: FeatureViews = await featureViewsOf(options.encoder, 'id-train', options.idSource, {
    preprocess: options.preprocess,
    batchSize: options.batchSize,
    // The kinds fit() reads: GL-MCM scores per-patch features but fits on text (Detector.fitFeatureKind).
    kinds: evaluatedFeatureKinds(options.encoder, !evaluatedFeatureKinds(options.encoder).includes(detector.fitFeatureKind ?? detector.featureKind)),
    progress: options.progress,
  });
  const text = hasTextTower(options.encoder) ? textFeatureSet(options.encoder, options.idSource.classNames) : undefined;
  await fitDetector(detector, train, { textEmbeddings: text, embedText: cachedTextEmbedder(options.encoder, options.textProgress) });
  const inputs = Object.fromEntries(Object.entries(train).map(([kind, set]) => [kind, vectorsDigest(set!)]));
  const fitFingerprint = sha256Hex(canonicalJson({ spec, train: inputs, text: text ? vectorsDigest(text) : null }));
  return {
    detector,
    objective: detectorAttackObjective(detector, name),
    record: { objective: name, detector: detector.name, spec: { name: spec.name, options: spec.options ?? {} }, featureKind: detector.featureKind, fitFingerprint },
  };
}
