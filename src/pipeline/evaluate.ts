/**
 * runEvaluation: the whole of `advood evaluate` as a library call (the CLI and `advood demo` both use it).
 *
 * Features of every set come through the feature cache. A release given with --ood contributes two sets: its
 * adversarial images, and the clean images stored beside them (the same items before the attack), so the
 * collapse Δ compares like with like. When a release's targets are ID training images (the paper's `sample`
 * strategy), the 1-NN detector is also run with those images removed from the bank, as the paper does.
 */
import { type DownloadEvent, reportingDownloads } from './download-events.js';
import { join } from 'node:path';
import type { FeatureProgress } from '../data/features.js';
import { firstItems } from '../data/first-items.js';
import type { FeatureSet } from '../data/feature-set.js';
import type { ImageSource, Preprocess } from '../data/image-source.js';
import { preprocessFor } from '../data/preprocess.js';
import type { Detector } from '../detectors/detector.js';
import { type FeatureViews, type OodSetInput, evaluateDetectors } from '../detectors/evaluate-detectors.js';
import { DETECTORS, type DetectorSpec, createDetectors, detectorEntry, detectorSpecName, unmetNeed } from '../detectors/registry.js';
import type { DetectorNeeds } from '../detectors/detector-entry.js';
import type { AdaptiveAttack, EvaluationResult, NotApplicableDetector } from '../metrics/evaluation-result.js';
import type { Encoder, FeatureKind } from '../models/encoder.js';
import type { ReleaseImageSource } from '../release/read/release-image-source.js';
import { UserError } from '../core/errors.js';
import { acquireOutputLock } from '../core/output-lock.js';
import { refuseOutputInRelease } from '../release/release-folder.js';
import type { GalleryItem } from '../report/report-html.js';
import { writeEvaluationOutputs } from '../report/write-outputs.js';
import type { BackendReport } from '../runtime/backend.js';
import type { OpenedSource } from '../sources/source-kind.js';
import { openImageSource, openSource, sourceDisplayName } from '../sources/open-source.js';
import { type AdaptiveSize, adaptiveAttackOf, checkAdaptiveAttacks, adaptiveBase, adaptiveSetName, generateAdaptiveReleases } from './adaptive-releases.js';
import { availableNeeds, evaluatedFeatureKinds, featureViewsOf, hasTextTower, textFeatureSet } from './feature-views.js';
import { cachedTextEmbedder } from './text-embedder.js';
import { readGenerationConfig } from './generation-config.js';

export interface EvaluateOptions {
  /** The target model (the caller owns and disposes it). */
  encoder: Encoder;
  /** ID training source: the k-NN bank and the fit set of every detector. */
  idTrain: string;
  /** Use the first N ID training images (all when absent). */
  idTrainN?: number;
  idTest: string;
  /** Use the first N ID test images (all when absent). */
  idTestN?: number;
  /** Image sources or release directories, each optionally `name=spec`. */
  ood: readonly string[];
  /** The first N images of an OOD image source, by its name (all when absent). */
  oodSizes?: Readonly<Record<string, number>>;
  /** Detector specs (registry syntax or objects); default: every detector the target and data support. */
  detectors?: readonly (string | DetectorSpec)[];
  out: string;
  batch: number;
  bootstrap: { resamples: number; seed: number };
  /** Gallery rows per release in report.html. */
  gallery: number;
  /** The command line, shown in the report (and recorded in adaptive releases). */
  command?: string;
  /**
   * Also attack every differentiable detector on its own score (src/pipeline/adaptive-releases.ts), copying the
   * first paper release among `ood`, and evaluate those releases beside it.
   */
  adaptive?: { size: AdaptiveSize; backend: BackendReport };
  onProgress?: (event: EvaluateProgress) => void;
}

export type EvaluateProgress =
  | { kind: 'stage'; message: string }
  | DownloadEvent
  | { kind: 'features'; set: string; done: number; total: number }
  | { kind: 'skipped'; set: string; item: string; reason: string };

export interface EvaluateSummary {
  result: EvaluationResult;
  markdown: string;
  files: string[];
  /** Wall time of the adaptive attacks (generation or reuse), with --adaptive. */
  adaptiveSeconds?: number;
}

interface NamedSpec {
  name: string;
  spec: string;
}

const NAMED_SPEC = /^([\w.:-]+)=(.+)$/;

/** `name=spec` or a bare spec named after its last path component. */
export function parseNamedSpec(text: string): NamedSpec {
  const match = NAMED_SPEC.exec(text);
  if (match) return { name: match[1]!, spec: match[2]! };
  return { name: sourceDisplayName(text), spec: text };
}

/** `text` with `change` applied to its spec, its `name=` kept. */
export function mapNamedSpec(text: string, change: (spec: string) => string): string {
  const match = NAMED_SPEC.exec(text);
  return match ? `${match[1]}=${change(match[2]!)}` : change(text);
}

/** An OOD set to score; `fromRelease`: images stored at model resolution (a release's adversarial or clean column). */
interface OodSource {
  name: string;
  source: ImageSource;
  fromRelease: boolean;
  release?: ReleaseImageSource;
  cleanOf?: string;
  /** Report name of the detector whose score the release's attack maximised (an adaptive release). */
  attackedDetector?: string;
  /** How an adaptive release was attacked. */
  adaptiveAttack?: AdaptiveAttack;
}

/** A release as two sets: its clean images and its adversarial ones (with the detector it attacked, if any). */
async function releaseSources(name: string, opened: Extract<OpenedSource, { type: 'release' }>): Promise<OodSource[]> {
  const adversarial = await opened.openColumn('image', name);
  const clean = await opened.openColumn('cleanImage', `${name}:clean`);
  const config = readGenerationConfig(adversarial.release.manifest);
  const attackedDetector = config?.objective?.detector;
  return [
    { name: clean.name, source: clean, fromRelease: true },
    {
      name,
      source: adversarial,
      fromRelease: true,
      release: adversarial,
      cleanOf: clean.name,
      ...(attackedDetector !== undefined && { attackedDetector, adaptiveAttack: adaptiveAttackOf(config!.attack.params) }),
    },
  ];
}

/** The opened sources of an evaluation. */
export interface EvaluationData {
  fullIdTrain: ImageSource;
  idTrain: ImageSource;
  idTest: ImageSource;
  oodSources: OodSource[];
}

export type EvaluationDataSpec = Pick<EvaluateOptions, 'idTrain' | 'idTrainN' | 'idTest' | 'idTestN' | 'ood' | 'oodSizes' | 'onProgress'>;

/**
 * Opens every source of an evaluation. Callers that load a large encoder call this first, so that a wrong
 * path fails at once, before any weights load, and pass the result to runEvaluation.
 */
export async function openEvaluationData(options: EvaluationDataSpec): Promise<EvaluationData> {
  if (options.ood.length === 0) throw new UserError('evaluate needs at least one --ood source (an image source or a release directory)');
  const downloads = reportingDownloads(options.onProgress ?? (() => {}));
  const fullIdTrain = await openImageSource(options.idTrain, downloads);
  const idTrain = firstItems(fullIdTrain, options.idTrainN, 'the ID train size', options.idTrain);
  const idTest = firstItems(await openImageSource(options.idTest, downloads), options.idTestN, 'the ID test size', options.idTest);
  const oodSpecs = options.ood.map(parseNamedSpec);
  const oodSources: OodSource[] = [];
  for (const { name, spec } of oodSpecs) {
    const opened = await openSource(spec, downloads);
    if (opened.type === 'release') {
      oodSources.push(...(await releaseSources(name, opened)));
    } else {
      oodSources.push({ name, source: firstItems(opened.images, options.oodSizes?.[name], `the size of OOD set '${name}'`, spec), fromRelease: false });
    }
  }
  return { fullIdTrain, idTrain, idTest, oodSources };
}

/**
 * Refused before anything is written when --out is (inside) a release; --out is locked for the whole run, since
 * --adaptive writes under it long before the report does, and two runs into one folder overwrite each other.
 */
export async function runEvaluation(options: EvaluateOptions, opened?: EvaluationData): Promise<EvaluateSummary> {
  refuseOutputInRelease(options.out);
  if (options.adaptive) checkAdaptiveAttacks(options.adaptive.size);
  const lock = acquireOutputLock(options.out, 'advood evaluate');
  try {
    return await evaluateInto(options, opened);
  } finally {
    lock.release();
  }
}

async function evaluateInto(options: EvaluateOptions, opened?: EvaluationData): Promise<EvaluateSummary> {
  const report = options.onProgress ?? (() => {});
  const { fullIdTrain, idTrain, idTest, oodSources: given } = opened ?? (await openEvaluationData(options));
  const { encoder } = options;
  const oodSources = [...given];
  const hasText = hasTextTower(encoder);
  const clipPreprocess = preprocessFor(encoder);
  // Released images are already at model resolution and must not be resampled again.
  const exactPreprocess = preprocessFor(encoder, { mode: 'exact' });

  const featuresOf = (setName: string, source: ImageSource, preprocess: Preprocess, kinds: readonly FeatureKind[]): Promise<FeatureViews> =>
    featureViewsOf(encoder, setName, source, { preprocess, batchSize: options.batch, kinds, progress: featureProgress(setName, report) });

  // Whether the train set is labelled decides which detectors run, and only those decide whether the (much
  // larger) per-patch features are needed. They are built before any image is encoded, so that a bad option or
  // file of theirs (NegLabel's lexicon) fails in one line first.
  const labelled = idTrain.items.some((item) => item.label !== null);
  const { specs, notApplicable } = applicableDetectors(options.detectors, availableNeeds(encoder, labelled), encoder.id);
  const detectors: Detector[] = createDetectors(specs);
  const embeddingKinds = evaluatedFeatureKinds(encoder);
  const train = await featuresOf('id-train', idTrain, clipPreprocess, embeddingKinds);
  const kinds = evaluatedFeatureKinds(encoder, specs.some((spec) => detectorEntry(detectorSpecName(spec)).needs.patches));
  // The train set gets the per-patch kind only when a detector fits on it (none does today: GL-MCM fits on text).
  const fitKinds = new Set(detectors.map((detector) => detector.fitFeatureKind ?? detector.featureKind));
  const extraKinds = kinds.filter((kind) => !embeddingKinds.includes(kind) && fitKinds.has(kind));
  if (extraKinds.length > 0) Object.assign(train, await featuresOf('id-train', idTrain, clipPreprocess, extraKinds));
  const test = await featuresOf('id-test', idTest, clipPreprocess, kinds);
  const adaptiveStarted = performance.now();
  if (options.adaptive) oodSources.push(...(await adaptiveSources(options, options.adaptive, { given, specs, fullIdTrain })));
  const adaptiveSeconds = options.adaptive ? (performance.now() - adaptiveStarted) / 1000 : undefined;
  const oodSets: OodSetInput[] = [];
  for (const entry of oodSources) {
    const preprocess = entry.fromRelease ? exactPreprocess : clipPreprocess;
    oodSets.push({
      name: entry.name,
      features: await featuresOf(entry.name, entry.source, preprocess, kinds),
      kind: entry.cleanOf ? 'adversarial' : 'clean',
      cleanOf: entry.cleanOf,
      attackedDetector: entry.attackedDetector,
      adaptiveAttack: entry.adaptiveAttack,
    });
  }
  const textEmbeddings = hasText ? textFeatureSet(encoder, idTrain.classNames) : undefined;
  const embedText = cachedTextEmbedder(encoder, {
    onBatch: (done, total) => report({ kind: 'features', set: 'text prompts', done, total }),
    onCacheRejected: (file, reason) => report({ kind: 'stage', message: `text embedding cache ${file} rejected (${reason}); recomputing` }),
  });

  const targetIds = attackTargetIds(oodSources, fullIdTrain);
  const specNames = specs.map(detectorSpecName);
  if (targetIds.length > 0 && specNames.includes('knn')) {
    // The paper's second 1-NN figure: the bank without the images the attack aimed at.
    detectors.push(...createDetectors([{ name: 'knn', options: { excludeIds: targetIds } }]));
  }

  report({ kind: 'stage', message: `fitting and scoring ${detectors.length} detectors` });
  const result = await evaluateDetectors({
    detectors,
    train,
    textEmbeddings,
    embedText,
    idTest: test,
    oodSets,
    notApplicable,
    bootstrap: options.bootstrap,
    onEvent: (event) => {
      if (event.type === 'fit') report({ kind: 'stage', message: `detector ${event.index + 1}/${event.total}: ${event.detector}` });
    },
  });
  const gallery = await galleryRows(oodSources, options.gallery);
  const { markdown, files } = await writeEvaluationOutputs(result, options.out, {
    title: `advood evaluation: ${encoder.id}`,
    subtitle: [
      `ID train ${options.idTrain} (${idTrain.items.length} images), ID test ${options.idTest}`,
      `OOD: ${oodSources.map((s) => s.name).join(', ')}`,
      ...(options.command ? [options.command] : []),
    ],
    gallery,
  });
  return { result, markdown, files, ...(adaptiveSeconds !== undefined && { adaptiveSeconds }) };
}

/**
 * The detectors to run and the ones that cannot run here, each with the reason. The default is every registry
 * detector; a named one whose needs are not met (a zero-shot detector on a target without a text tower) is
 * listed as not applicable rather than failing the run, unless none of the named ones can run.
 */
function applicableDetectors(
  requested: EvaluateOptions['detectors'],
  available: DetectorNeeds,
  targetId: string,
): { specs: (string | DetectorSpec)[]; notApplicable: NotApplicableDetector[] } {
  const specs: (string | DetectorSpec)[] = [];
  const notApplicable: NotApplicableDetector[] = [];
  for (const spec of requested ?? DETECTORS.map((d) => d.name)) {
    const name = detectorSpecName(spec);
    const reason = unmetNeed(detectorEntry(name), available);
    if (reason === null) specs.push(spec);
    else notApplicable.push({ detector: name, reason });
  }
  if (specs.length === 0) {
    throw new UserError(`none of the detectors can run on ${targetId}: ${notApplicable.map((d) => `${d.detector} ${d.reason}`).join('; ')}`);
  }
  return { specs, notApplicable };
}

/** The adaptive releases (generated or reused) as OOD sets, named adaptive-<detector>. */
async function adaptiveSources(
  options: EvaluateOptions,
  adaptive: NonNullable<EvaluateOptions['adaptive']>,
  data: { given: readonly OodSource[]; specs: readonly (string | DetectorSpec)[]; fullIdTrain: ImageSource },
): Promise<OodSource[]> {
  const releases = await generateAdaptiveReleases({
    encoder: options.encoder,
    base: adaptiveBase(data.given),
    detectors: data.specs,
    idTrain: options.idTrain,
    idTrainN: options.idTrainN,
    fullIdTrain: data.fullIdTrain,
    dir: join(options.out, 'adaptive'),
    size: adaptive.size,
    backend: adaptive.backend,
    command: options.command ?? 'advood evaluate --adaptive',
    onStage: (message) => options.onProgress?.({ kind: 'stage', message }),
  });
  const sources: OodSource[] = [];
  for (const release of releases) {
    const opened = await openSource(`release:${release.dir}`);
    if (opened.type === 'release') sources.push(...(await releaseSources(adaptiveSetName(release), opened)));
  }
  return sources;
}

/** Feature progress of one set as evaluate's events (also used for the fit set of an adaptive attack). */
export function featureProgress(setName: string, report: (event: EvaluateProgress) => void): (kind: FeatureKind) => FeatureProgress {
  return (kind) => ({
    onBatch: (done, total) => report({ kind: 'features', set: `${setName} (${kind})`, done, total }),
    onFailure: ({ item, reason }) => report({ kind: 'skipped', set: setName, item: item.origin, reason }),
    onCacheRejected: (file, reason) => report({ kind: 'stage', message: `feature cache ${file} rejected (${reason}); recomputing` }),
  });
}

/**
 * ID-train ids that releases used as attack targets (rows whose target is one ID image). A release records the
 * row index into its ID source's items (in source order; a first --id-n is a prefix, so the index holds in the
 * whole source); the source must be the one passed as --id-train for that index to mean anything, which the
 * release's recorded fingerprint confirms.
 */
function attackTargetIds(sources: readonly { release?: ReleaseImageSource }[], idTrain: ImageSource): string[] {
  const ids = new Set<string>();
  for (const { release } of sources) {
    if (!release) continue;
    const indexed = release.rows.filter((row) => row.targetIndex >= 0);
    if (indexed.length === 0) continue;
    const recorded = releaseIdFingerprint(release);
    if (recorded !== null && recorded !== idTrain.fingerprint) {
      throw new UserError(
        `${release.release.dir}: its targets index an ID source with fingerprint ${recorded.slice(0, 12)}…, ` +
          `but --id-train has ${idTrain.fingerprint.slice(0, 12)}…; pass the ID source the release was generated with`,
      );
    }
    for (const row of indexed) {
      const id = idTrain.items[row.targetIndex]?.id;
      if (id === undefined) {
        throw new UserError(`${release.release.dir}#${row.id}: target index ${row.targetIndex} is outside --id-train (${idTrain.items.length} images)`);
      }
      ids.add(id);
    }
  }
  return [...ids].sort();
}

function releaseIdFingerprint(release: ReleaseImageSource): string | null {
  return readGenerationConfig(release.release.manifest)?.idSource?.fingerprint ?? null;
}

/** Evenly spaced rows of each release: clean | adversarial | amplified δ, with cos and PSNR. */
async function galleryRows(sources: readonly Pick<OodSource, 'release' | 'attackedDetector'>[], perRelease: number): Promise<GalleryItem[]> {
  const items: GalleryItem[] = [];
  if (perRelease <= 0) return items;
  for (const { release, attackedDetector } of sources) {
    if (!release) continue;
    const total = release.rows.length;
    const wanted = new Set(Array.from({ length: Math.min(perRelease, total) }, (_, i) => Math.floor((i * total) / Math.min(perRelease, total))));
    let index = 0;
    for await (const row of release.release.rows()) {
      if (wanted.has(index) && row.cleanImage) {
        const className = release.classNames[row.targetClass] ?? 'none';
        const adaptive = attackedDetector !== undefined && row.detectorScoreBefore !== undefined && row.detectorScoreAfter !== undefined;
        items.push({
          id: row.id,
          cleanPng: row.cleanImage,
          adversarialPng: row.image,
          psnr: row.psnr,
          ...(adaptive
            ? { caption: `adaptive attack on ${attackedDetector}: its score ${row.detectorScoreBefore!.toPrecision(4)} → ${row.detectorScoreAfter!.toPrecision(4)}` }
            : { cos: row.cosAfter, caption: `target: ${className} (${row.targetStrategy})` }),
        });
      }
      index++;
    }
  }
  return items;
}
