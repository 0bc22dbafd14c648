/**
 * advood's public API: what `import … from 'advood'` gives. The CLI (src/cli/) is a thin layer over the same
 * functions. Scores are "higher = more in-distribution" everywhere; pixels are float32 NHWC in [0,1].
 *
 *   const backend = await initBackend({ request: 'auto' });
 *   const encoder = await createEncoder('mobilenet-v2', { backend, inputSize: 64 });
 *   await generateRelease({ encoder, id, ood, attack: 'demo-lowfreq', seed: 0, out, backend, command: 'my script' });
 *   for await (const row of (await openRelease(out)).rows()) console.log(row.id, row.cosAfter);
 */

// Errors a user can fix (bad config, missing file): their message says what is wrong and where.
export { ItemError, UserError } from './core/errors.js';

// Tensor backend and target models.
export { BACKEND_NAMES, initBackend, type BackendName, type BackendReport } from './runtime/backend.js';
export { createEncoder, resolveTarget, targetPresetNames } from './models/create-encoder.js';
export type { EncoderFamily, LoadOptions, TargetConfig } from './models/encoder-family.js';
export type { ResolvedTarget } from './models/create-encoder.js';
export { FEATURE_KINDS, type Encoder, type FeatureKind } from './models/encoder.js';
export { promptEnsembleEmbeddings, PROMPT_TEMPLATES } from './models/prompt-ensemble.js';

// Data and features.
export { openImageSource, openSource } from './sources/open-source.js';
export { SOURCE_KINDS } from './sources/source-kinds.js';
export type { OpenedSource, SourceKind, SourceOptions } from './sources/source-kind.js';
export type { ImageItem, ImageSource } from './data/image-source.js';
export { computeFeatures, type ComputedFeatures } from './data/features.js';
export type { FeatureSet } from './data/feature-set.js';

// Pipelines: the end-to-end entry points.
export { generateRelease, presetInputSize, type GenerateOptions, type GenerateProgress, type GenerateSummary } from './pipeline/generate.js';
export {
  openEvaluationData,
  runEvaluation,
  type EvaluateOptions,
  type EvaluateProgress,
  type EvaluateSummary,
  type EvaluationData,
} from './pipeline/evaluate.js';
export { readExperimentConfig, runExperiment, type ExperimentConfig, type ExperimentOptions } from './pipeline/experiment.js';
export { runDemo, type DemoOptions, type DemoSummary } from './pipeline/demo.js';

// Releases.
export { openRelease, type OpenedRelease } from './release/read/release-reader.js';
export type { ReleaseError, ReleaseRow } from './release/release-row.js';
export type { ReleaseManifest } from './release/release-manifest.js';
export { verifyRelease, type VerifyReport } from './release/read/release-verify.js';
export { mergeReleases } from './release/write/release-merge.js';
export { EXPORTERS, exporterNamed } from './release/export/exporters.js';
export type { ExportedImage, ExporterEntry } from './release/export/exporter.js';
export { pushReleaseToHub, type HubPushOptions, type HubPushResult } from './publish/hub-push.js';
export { resolveHubDataset, type ResolvedHubDataset, type ResolveHubDatasetOptions } from './hub/hub-dataset.js';
export { parseHubDatasetUri, type HubDatasetUri } from './hub/hub-dataset-uri.js';

// Registries.
export {
  attackPresetNames,
  attackParamsFrom,
  resolveAttackPreset,
  type AttackParams,
  type ResolvedAttackPreset,
} from '../attacks/attack-params.js';
export { ATTACKS, TARGET_STRATEGIES, attackNames, createAttack, targetStrategy } from '../attacks/registry.js';
export type { Attack, AttackInput, AttackResult } from '../attacks/attack.js';
export { FEATURE_COLLISION_OBJECTIVE, featureCollisionObjective, type AttackObjective } from '../attacks/objective.js';
export { detectorAttackObjective } from './pipeline/detector-objective.js';
export { TARGET_STRATEGY_NAMES, type TargetStrategyName } from '../attacks/targets/target-strategy-names.js';
export type { TargetStrategy } from '../attacks/targets/target-strategy.js';
export {
  DETECTORS,
  createDetectors,
  detectorEntry,
  parseDetectorSpec,
  supportedDetectorNames,
  type DetectorEntry,
  type DetectorSpec,
} from './detectors/registry.js';
export { isDifferentiable, type Detector, type DetectorFitInput, type DifferentiableDetector } from './detectors/detector.js';
export { worstCaseRows, type WorstCaseRow } from './report/worst-case.js';

// Metrics.
export { oodMetrics, type OodMetrics } from './metrics/ood-metrics.js';
