/**
 * NegLabel (Jiang et al., "Negative Label Guided OOD Detection with Pretrained Vision-Language Models", ICLR 2024;
 * official code XueJiang16/NegLabel): zero-shot OOD detection against ID labels plus mined negative labels.
 *
 * - Prompts (mmcls/models/classifiers/multi_modal.py, custom_config/clip.py): ID labels and candidate nouns use
 *   'the nice {}' (prompt_idx_pos = prompt_idx_neg = 85), candidate adjectives 'This is a {} photo'; every text
 *   embedding is L2-normalised. Candidates: WordNet's nouns and adjectives (src/data/lexicon.ts), deduplicated
 *   with nouns first (a word in both lists is a noun), as the official `dedup` dict does.
 * - NegMining: s_j = quantile_q over the ID labels c of cos(t_j, t_c), q = 0.95 with linear interpolation
 *   (torch.quantile, `pencentile=0.95`); nouns sorted ascending by s keep the first ⌊0.15·|nouns|⌋
 *   (`neg_topk=0.15`), adjectives likewise, separately; negatives = the kept nouns, then the kept adjectives.
 * - Score with grouping (mmcls/models/ood/clip_ood.py `grouping`, ngroup = 100): logits z = cos(unit x, t)/T with
 *   T = 0.01 (CLIP's logit scale 100; the config's t = 1 divides the already ×100 logits); the last M mod G
 *   negatives are dropped, the rest permuted by a seeded permutation and cut into G equal groups; per group g,
 *   S_g(x) = Σ_{c ∈ ID} softmax([z_ID, z_neg(g)])_c, and S(x) = mean_g S_g(x). Higher = more ID.
 *   The official permutation is torch.randperm on CUDA under seed 0, which no other generator reproduces; here it
 *   is SeededRandom(seed).permutation (src/core/seeded-random.ts), so `seed` fixes the grouping the same way.
 *
 * S_g = e^a / (e^a + e^b) = sigmoid(a − b) with a = lse(z_ID), b = lse(z_neg(g)) (log-sum-exp): a form that
 * cannot overflow at T = 0.01 (logits up to 100). score() is float64 throughout; scoreTensor is the same in tfjs (float32), differentiable in x.
 * Mining costs |lexicon| · classes · D multiply-adds in float64 (139k words × 10 classes × 512: a few seconds).
 */
import * as tf from '@tensorflow/tfjs';
import type { FeatureSet } from '../data/feature-set.js';
import { type Lexicon, WORDNET_LEXICON_FILES, readLexicon } from '../data/lexicon.js';
import { UserError } from '../core/errors.js';
import { SeededRandom } from '../core/seeded-random.js';
import type { DetectorFitInput, DifferentiableDetector } from './detector.js';
import { defineDetector } from './detector-entry.js';
import { assertSameDim, assertUsableFeatures } from './shared/feature-validation.js';
import { assertTensorDim, transposedRows, unitRowsTensor } from './shared/tensor-rows.js';

/** The official code's prompts: prompt_templates[85] of its class_names.py, and its adjective template. */
export const NEGLABEL_NOUN_TEMPLATE = 'the nice {}';
export const NEGLABEL_ADJECTIVE_TEMPLATE = 'This is a {} photo';

export interface NegLabelOptions {
  /** Share of each part of speech kept as negatives (official neg_topk = 0.15). */
  negativeFraction?: number;
  /** Quantile of a candidate's similarities to the ID labels that ranks it (official pencentile = 0.95). */
  percentile?: number;
  /** Number of negative groups (official ngroup = 100). */
  groups?: number;
  /** Temperature of the cosine logits (0.01: CLIP's logit scale 100). */
  temperature?: number;
  /** Seed of the grouping permutation. */
  seed?: number;
  /** Candidate words; default the bundled WordNet lexicon (src/data/lexicon.ts). */
  lexicon?: Lexicon;
  name?: string;
}

export const NEGLABEL_DEFAULTS = { negativeFraction: 0.15, percentile: 0.95, groups: 100, temperature: 0.01, seed: 0 } as const;

/** Rows as unit vectors in float64; a zero row has no direction and is an error. */
function unitRows64(set: FeatureSet, what: string): Float64Array {
  const { dim } = set;
  const out = new Float64Array(set.ids.length * dim);
  for (let r = 0; r < set.ids.length; r++) {
    let sum = 0;
    for (let d = 0; d < dim; d++) sum += set.vectors[r * dim + d]! ** 2;
    if (sum === 0) throw new UserError(`${what}: row ${r} ('${set.ids[r]}') is the zero vector; cosine similarity is undefined`);
    const scale = 1 / Math.sqrt(sum);
    for (let d = 0; d < dim; d++) out[r * dim + d] = set.vectors[r * dim + d]! * scale;
  }
  return out;
}

/** torch.quantile's default ('linear'): sorted values v, position q·(n − 1), interpolated between neighbours. */
export function linearQuantile(values: Float64Array, q: number): number {
  const sorted = Float64Array.from(values).sort();
  const position = q * (sorted.length - 1);
  const lo = Math.floor(position);
  const hi = Math.min(lo + 1, sorted.length - 1);
  return sorted[lo]! + (position - lo) * (sorted[hi]! - sorted[lo]!);
}

/**
 * NegMining over one part of speech: the indices of the ⌊fraction·n⌋ candidates with the lowest q-quantile of
 * cosine to the ID labels, in ascending order of it (ties by index, so the result does not depend on the sort).
 * `candidates` and `id` are unit rows [n × dim] and [classes × dim].
 */
export function mineNegatives(candidates: Float64Array, id: Float64Array, dim: number, fraction: number, percentile: number): Int32Array {
  const n = candidates.length / dim;
  const classes = id.length / dim;
  const s = new Float64Array(n);
  const cosines = new Float64Array(classes);
  for (let j = 0; j < n; j++) {
    for (let c = 0; c < classes; c++) {
      let dot = 0;
      for (let d = 0; d < dim; d++) dot += candidates[j * dim + d]! * id[c * dim + d]!;
      cosines[c] = dot;
    }
    s[j] = linearQuantile(cosines, percentile);
  }
  const order = Array.from({ length: n }, (_, j) => j).sort((a, b) => s[a]! - s[b]! || a - b);
  return Int32Array.from(order.slice(0, Math.floor(n * fraction)));
}

/** The grouping's column order: the first count − (count mod groups) negatives, permuted by the seed. */
export function groupPermutation(count: number, groups: number, seed: number): Int32Array {
  return new SeededRandom(seed).permutation(count - (count % groups));
}

/** Candidate words as the official code dedups them: nouns first, an adjective that is also a noun dropped. */
function dedupedLexicon(lexicon: Lexicon): { nouns: string[]; adjectives: string[] } {
  const seen = new Set<string>();
  const keep = (words: readonly string[]) => words.filter((w) => !seen.has(w) && (seen.add(w), true));
  const nouns = keep(lexicon.nouns);
  return { nouns, adjectives: keep(lexicon.adjectives) };
}

interface Fitted {
  dim: number;
  classes: number;
  /** Unit ID label embeddings [classes × dim]. */
  id: Float64Array;
  /** Unit negative embeddings in grouped order [groups · perGroup × dim]: group g is rows g·perGroup … */
  negatives: Float64Array;
  perGroup: number;
  /** The mined negative words (nouns then adjectives), before dropping and permuting. */
  words: string[];
  nouns: number;
  candidates: number;
  dropped: number;
}

export class NegLabelDetector implements DifferentiableDetector {
  readonly name: string;
  readonly featureKind = 'projected' as const;
  private readonly negativeFraction: number;
  private readonly percentile: number;
  private readonly groups: number;
  private readonly temperature: number;
  private readonly seed: number;
  /** The lexicon as the official code dedups it (nouns first). */
  private readonly candidates: { nouns: string[]; adjectives: string[] };
  private fitted: Fitted | null = null;

  constructor(options: NegLabelOptions = {}) {
    this.name = options.name ?? 'neglabel';
    const o = { ...NEGLABEL_DEFAULTS, ...Object.fromEntries(Object.entries(options).filter(([, v]) => v !== undefined)) };
    if (!(o.negativeFraction > 0)) throw new UserError(`${this.name}: negativeFraction must be > 0, got ${o.negativeFraction}`);
    if (!(o.percentile >= 0 && o.percentile <= 1)) throw new UserError(`${this.name}: percentile must be in [0, 1], got ${o.percentile}`);
    if (!(Number.isInteger(o.groups) && o.groups >= 1)) throw new UserError(`${this.name}: groups must be a positive integer, got ${o.groups}`);
    if (!(o.temperature > 0)) throw new UserError(`${this.name}: temperature must be > 0, got ${o.temperature}`);
    if (!Number.isInteger(o.seed)) throw new UserError(`${this.name}: seed must be an integer, got ${o.seed}`);
    this.negativeFraction = o.negativeFraction;
    this.percentile = o.percentile;
    this.groups = o.groups;
    this.temperature = o.temperature;
    this.seed = o.seed;
    // Read and checked when the detector is built, so that a missing or malformed list, or a count it cannot
    // give, fails before any image is encoded or any of the lexicon's prompts embedded (the long part of fit).
    this.candidates = dedupedLexicon(options.lexicon ?? readLexicon());
    const { nouns, adjectives } = this.candidates;
    const count = Math.floor(nouns.length * this.negativeFraction) + Math.floor(adjectives.length * this.negativeFraction);
    const words = nouns.length + adjectives.length;
    if (count > words) throw new UserError(`${this.name}: negativeFraction ${this.negativeFraction} asks for ${count} negative labels from a lexicon of ${words} words`);
    if (this.groups > count) throw new UserError(`${this.name}: ${this.groups} groups need at least as many negative labels, but ${this.negativeFraction} of the lexicon's ${words} words is ${count}`);
  }

  async fit({ train, embedText }: DetectorFitInput): Promise<void> {
    if (!embedText) throw new UserError(`${this.name}: needs a text embedder for its own prompts (a target with a text tower, e.g. CLIP)`);
    const classNames = train.classNames;
    if (classNames.length === 0) throw new UserError(`${this.name}: needs the class names of the ID train set (a labelled source)`);
    const { nouns, adjectives } = this.candidates;
    const candidates = nouns.length + adjectives.length;
    const fill = (template: string, words: readonly string[]) => words.map((w) => template.replace('{}', w));
    const idSet = await embedText.embed(fill(NEGLABEL_NOUN_TEMPLATE, classNames));
    const nounSet = await embedText.embed(fill(NEGLABEL_NOUN_TEMPLATE, nouns));
    const adjectiveSet = await embedText.embed(fill(NEGLABEL_ADJECTIVE_TEMPLATE, adjectives));
    const dim = idSet.dim;
    for (const [set, what, rows] of [[idSet, 'ID label', classNames.length], [nounSet, 'noun', nouns.length], [adjectiveSet, 'adjective', adjectives.length]] as const) {
      assertUsableFeatures(set, `${this.name}: ${what} text embeddings (${embedText.id})`);
      if (set.ids.length !== rows || set.dim !== dim) throw new Error(`${this.name}: ${embedText.id} gave ${set.ids.length} × ${set.dim} ${what} embeddings for ${rows} prompts (expected ${dim}-d)`);
    }
    const id = unitRows64(idSet, `${this.name}: ID label text embeddings`);
    const nounUnit = unitRows64(nounSet, `${this.name}: noun text embeddings`);
    const adjectiveUnit = unitRows64(adjectiveSet, `${this.name}: adjective text embeddings`);
    const nounPick = mineNegatives(nounUnit, id, dim, this.negativeFraction, this.percentile);
    const adjectivePick = mineNegatives(adjectiveUnit, id, dim, this.negativeFraction, this.percentile);
    const mined = [...Array.from(nounPick, (j) => ({ rows: nounUnit, j })), ...Array.from(adjectivePick, (j) => ({ rows: adjectiveUnit, j }))];
    const permutation = groupPermutation(mined.length, this.groups, this.seed);
    const negatives = new Float64Array(permutation.length * dim);
    permutation.forEach((p, i) => negatives.set(mined[p]!.rows.subarray(mined[p]!.j * dim, (mined[p]!.j + 1) * dim), i * dim));
    this.fitted = {
      dim,
      classes: classNames.length,
      id,
      negatives,
      perGroup: permutation.length / this.groups,
      words: [...Array.from(nounPick, (j) => nouns[j]!), ...Array.from(adjectivePick, (j) => adjectives[j]!)],
      nouns: nounPick.length,
      candidates,
      dropped: mined.length - permutation.length,
    };
  }

  /** The mined negative words, kept nouns then kept adjectives (after fit). */
  negativeWords(): readonly string[] {
    return this.fitted?.words ?? [];
  }

  fitNotes(): string[] {
    const f = this.fitted;
    if (!f) return [];
    return [
      `${f.words.length} negative labels (${f.nouns} nouns, ${f.words.length - f.nouns} adjectives) mined from a lexicon of ${f.candidates} words`,
      `${this.groups} groups of ${f.perGroup}${f.dropped > 0 ? `; the last ${f.dropped} negatives dropped to make equal groups` : ''}`,
    ];
  }

  score(features: FeatureSet): Float64Array {
    const f = this.fitted;
    if (!f) throw new Error(`${this.name}: score() called before fit()`);
    assertSameDim(f.dim, features, this.name, 'the query set (projected features)');
    assertUsableFeatures(features, `${this.name}: projected image features`);
    const x = unitRows64(features, `${this.name}: projected image features`);
    const { dim, classes, perGroup } = f;
    const rows = features.ids.length;
    const out = new Float64Array(rows);
    const idLogits = new Float64Array(classes);
    const groupLogits = new Float64Array(perGroup);
    const dot = (rowsOf: Float64Array, j: number, r: number) => {
      let sum = 0;
      for (let d = 0; d < dim; d++) sum += x[r * dim + d]! * rowsOf[j * dim + d]!;
      return sum / this.temperature;
    };
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < classes; c++) idLogits[c] = dot(f.id, c, r);
      const lseId = logSumExp(idLogits);
      let total = 0;
      for (let g = 0; g < this.groups; g++) {
        for (let k = 0; k < perGroup; k++) groupLogits[k] = dot(f.negatives, g * perGroup + k, r);
        total += sigmoid(lseId - logSumExp(groupLogits));
      }
      out[r] = total / this.groups;
    }
    return out;
  }

  scoreTensor(features: tf.Tensor2D): tf.Tensor1D {
    const f = this.fitted;
    if (!f) throw new Error(`${this.name}: scoreTensor() called before fit()`);
    assertTensorDim(features, f.dim, this.name);
    const negatives = f.negatives.length / f.dim;
    return tf.tidy(() => {
      const x = unitRowsTensor(features);
      const idT = tf.tensor2d(transposedRows(f.id, f.classes, f.dim), [f.dim, f.classes]);
      const negT = tf.tensor2d(transposedRows(f.negatives, negatives, f.dim), [f.dim, negatives]);
      const lseId = tf.logSumExp(tf.div(tf.matMul(x, idT), this.temperature), 1, true); // [B, 1]
      const negLogits = tf.div(tf.matMul(x, negT), this.temperature).reshape([-1, this.groups, f.perGroup]);
      const lseNeg = tf.logSumExp(negLogits, 2); // [B, G]
      return tf.mean(tf.sigmoid(tf.sub(lseId, lseNeg)), 1) as tf.Tensor1D;
    });
  }
}

function logSumExp(values: Float64Array): number {
  let max = -Infinity;
  for (const v of values) max = Math.max(max, v);
  let sum = 0;
  for (const v of values) sum += Math.exp(v - max);
  return max + Math.log(sum);
}

/** 1 / (1 + e^(−z)), written so that neither branch overflows. */
function sigmoid(z: number): number {
  return z >= 0 ? 1 / (1 + Math.exp(-z)) : Math.exp(z) / (1 + Math.exp(z));
}

export const negLabelEntry = defineDetector(
  {
    name: 'neglabel',
    description: 'NegLabel: ID labels vs negative labels mined from WordNet (lowest 95th-percentile similarity), grouped softmax at T = 0.01',
    needs: { labels: false, text: true, projected: true },
    options: [
      { name: 'negativeFraction', type: 'number', default: NEGLABEL_DEFAULTS.negativeFraction, description: 'share of the nouns and of the adjectives kept as negative labels' },
      { name: 'percentile', type: 'number', default: NEGLABEL_DEFAULTS.percentile, description: "quantile of a word's similarities to the ID labels that ranks it" },
      { name: 'groups', type: 'integer', default: NEGLABEL_DEFAULTS.groups, description: 'groups the negatives are split into; the score is the mean over groups' },
      { name: 'temperature', type: 'number', default: NEGLABEL_DEFAULTS.temperature, description: 'temperature of the cosine logits (0.01: CLIP’s logit scale 100)' },
      { name: 'seed', type: 'integer', default: NEGLABEL_DEFAULTS.seed, description: 'seed of the permutation that forms the groups' },
      { name: 'nouns', type: 'string', default: 'datasets/lexicon/wordnet/nouns.txt', description: 'candidate nouns, one per line (UTF-8)' },
      { name: 'adjectives', type: 'string', default: 'datasets/lexicon/wordnet/adjectives.txt', description: 'candidate adjectives, one per line (UTF-8)' },
    ],
    differentiable: true,
  },
  (read) =>
    new NegLabelDetector({
      negativeFraction: read.number('negativeFraction', false),
      percentile: read.number('percentile', false),
      groups: read.number('groups', true),
      temperature: read.number('temperature', false),
      seed: read.number('seed', true),
      lexicon: readLexicon({ nouns: read.string('nouns') ?? WORDNET_LEXICON_FILES.nouns, adjectives: read.string('adjectives') ?? WORDNET_LEXICON_FILES.adjectives }),
      name: read.name,
    }),
);

