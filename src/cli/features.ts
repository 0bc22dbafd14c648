/**
 * `advood features`: encode every image of a source with a target and write the features Arrow file
 * (src/data/feature-file.ts). Results are cached by (target, weights, feature kind, preprocessing, data), so
 * detectors and repeated runs reuse them; bad images are skipped and named, the run goes on.
 */
import type { Argv, CommandModule } from 'yargs';
import { preprocessFor } from '../data/preprocess.js';
import { createEncoder, encoderFamilies } from '../models/create-encoder.js';
import { loadProgressPrinter } from './load-progress-printer.js';
import { FEATURE_KINDS, LOCAL_FEATURE_KIND, type EmbeddingKind } from '../models/encoder.js';
import { initBackend } from '../runtime/backend.js';
import { checkFlags } from '../core/config-checker.js';
import { openImageSource } from '../sources/open-source.js';
import { sourceKindsHelp, sourceSpecHelp } from '../sources/source-help.js';
import { writeFeatures } from '../pipeline/features.js';
import { refuseOutputInRelease } from '../release/release-folder.js';
import { createProgress } from './progress.js';
import { stagePrinter } from './stage-printer.js';
import { SOURCE_OPTIONS, type SourceArgs, specWithSourceFlags } from './source-options.js';
import { TARGET_OPTIONS } from './target-options.js';

const POSITIVE_INTEGER = { min: 1, integer: true } as const;

interface FeaturesArgs extends SourceArgs {
  backend: string;
  json: boolean;
  target: string;
  data: string;
  out: string;
  features?: string;
  'input-size'?: number;
  batch: number;
  weights?: string;
  preprocess: string;
  'on-error': string;
  cache: boolean;
  concurrency: number;
}

export const featuresCommand: CommandModule<object, FeaturesArgs> = {
  command: 'features',
  describe: 'Encode every image of a data source with a target; write an Arrow file of features (cached)',
  builder: (yargs: Argv<object>) =>
    yargs
      .options(TARGET_OPTIONS)
      .options(SOURCE_OPTIONS)
      .option('data', { type: 'string', demandOption: true, describe: `images: ${sourceSpecHelp()}` })
      .option('out', { type: 'string', demandOption: true, describe: 'output .arrow file (Arrow IPC file: id, label, source_path, source_sha256, feature)' })
      .option('features', {
        type: 'string',
        choices: FEATURE_KINDS,
        describe: `feature kind (default: the target's); per family: ${encoderFamilies().filter((f) => f.featureKinds.length > 1).map((f) => `${f.name} ${f.featureKinds.filter((k) => k !== LOCAL_FEATURE_KIND).join('|')}`).join('; ')}`,
      })
      .option('batch', { type: 'number', default: 16, describe: 'images per forward pass' })
      .option('preprocess', {
        type: 'string',
        choices: ['clip', 'squash', 'exact'],
        describe:
          "default: the target's own (squash for SigLIP, clip otherwise). clip: bicubic resize of the short side + centre crop; squash: bicubic resize of both sides, no crop; exact: images must already be at the input size",
      })
      .option('on-error', { type: 'string', choices: ['skip', 'fail'], default: 'skip', describe: 'a bad image is skipped and named, or stops the run' })
      .option('cache', { type: 'boolean', default: true, describe: 'reuse and store cached features (--no-cache to recompute)' })
      .option('concurrency', { type: 'number', default: 4, describe: 'images decoded in parallel' })
      .epilog(sourceKindsHelp())
      .example('$0 features --data datasets/demo/fashion-mnist-train --out train.arrow', 'embedded MobileNetV2 features of the demo ID set')
      .example('$0 features --data /usr/share/datasets/fashion-mnist/t10k --input-size 96 --out t10k.arrow', 'Fashion-MNIST IDX test split') as unknown as Argv<FeaturesArgs>,
  handler: async (args) => {
    checkFlags.number(args.batch, '--batch', POSITIVE_INTEGER);
    checkFlags.optionalNumber(args['input-size'], '--input-size', POSITIVE_INTEGER);
    checkFlags.number(args.concurrency, '--concurrency', POSITIVE_INTEGER);
    // writeFeatures refuses it too, but only once the weights are loaded.
    refuseOutputInRelease(args.out);
    const backend = await initBackend({ request: args.backend });
    // Open the data first: a wrong --data fails in milliseconds, before any weights load.
    const loads = loadProgressPrinter(args.json);
    const say = stagePrinter('features', args.json);
    const source = await openImageSource(specWithSourceFlags(args.data, args), { onDownload: (event) => loads({ kind: 'download', ...event }), log: say });
    const encoder = await createEncoder(args.target, {
      weights: args.weights,
      features: args.features as EmbeddingKind | undefined,
      inputSize: args['input-size'],
      backend,
      log: say,
      onProgress: loads,
    });
    try {
      const progress = createProgress(`features ${source.name}`, source.items.length, { json: args.json });
      let shown = 0;
      const result = await writeFeatures(encoder, source, args.out, {
        preprocess: preprocessFor(encoder, args.preprocess === undefined ? {} : { mode: args.preprocess as 'clip' | 'squash' | 'exact' }),
        batchSize: args.batch,
        kind: args.features as EmbeddingKind | undefined,
        onError: args['on-error'] as 'skip' | 'fail',
        concurrency: args.concurrency,
        cache: args.cache,
        progress: {
          onBatch: (done) => {
            progress.tick(done - shown);
            shown = done;
          },
          onFailure: ({ item, reason }) => progress.event('skipped', { id: item.id, file: item.origin, reason }),
          onCacheRejected: (file, reason) => progress.event('cache-rejected', { file, reason: `${reason}; recomputing` }),
        },
      });
      progress.done({
        rows: result.set.ids.length,
        dim: result.set.dim,
        skipped: result.failures.length,
        cached: result.cached,
        target: encoder.id,
        out: args.out,
      });
    } finally {
      encoder.dispose();
    }
  },
};
