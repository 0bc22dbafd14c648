/**
 * `advood experiment --dry-run`: what a config would read, resolved without downloading an image. A Hub source's
 * revision is pinned to the commit it points at now and its files are listed (count and bytes, as the Hub's
 * tree API gives them, and whether the cache already holds them); a gated one is checked for a token; a local
 * source is opened (which lists its files, decoding none). Every source is listed, the ones that cannot be read
 * with the reason, so one dry run shows everything a real run would stop on.
 */
import { UserError, errorMessage } from '../core/errors.js';
import { isHubDatasetUri } from '../hub/hub-dataset-uri.js';
import { type HubDatasetListing, listHubDataset } from '../hub/hub-dataset.js';
import { resolveTarget } from '../models/create-encoder.js';
import { openImageSource } from '../sources/open-source.js';
import { splitSpecChoice } from '../sources/source-spec.js';
import type { AdaptiveSize } from './adaptive-releases.js';
import type { DataRole, ExperimentConfig } from './experiment-config.js';

export interface SourcePlan {
  role: DataRole;
  name: string;
  /** The spec after placeholder substitution; null when it was skipped. */
  spec: string | null;
  /** The config's first-N, null = all. */
  size: number | null;
  status: 'ok' | 'skipped' | 'problem';
  /** What the Hub holds for an hf:// source. */
  hub?: HubDatasetListing;
  /** Images found in a local source. */
  images?: number;
  /** Why it was skipped or cannot be read. */
  reason?: string;
}

export interface ExperimentPlan {
  name: string;
  variant: string | null;
  target: string;
  targetDescription: string;
  out: string;
  sources: SourcePlan[];
  attacked: string;
  attacks: string[];
  adaptive: AdaptiveSize | null;
  detectors: string[] | null;
}

async function planSource(role: DataRole, name: string, spec: string, size: number | null): Promise<SourcePlan> {
  const plan: SourcePlan = { role, name, spec, size, status: 'ok' };
  try {
    const location = splitSpecChoice(spec).spec;
    if (isHubDatasetUri(location)) {
      plan.hub = await listHubDataset(location);
      if (plan.hub.gated && !plan.hub.hasToken) {
        return { ...plan, status: 'problem', reason: `the dataset is gated (${plan.hub.gated}): set HF_TOKEN to a read token of an account that accepted its conditions` };
      }
    } else {
      plan.images = (await openImageSource(spec)).items.length;
      if (size !== null && plan.images < size) return { ...plan, status: 'problem', reason: `holds ${plan.images} images, fewer than the ${size} the config asks for` };
    }
    return plan;
  } catch (error) {
    if (!(error instanceof UserError)) throw error;
    return { ...plan, status: 'problem', reason: errorMessage(error) };
  }
}

export async function planExperiment(config: ExperimentConfig, out: string): Promise<ExperimentPlan> {
  const target = resolveTarget(config.target);
  const skippedRoles = new Set(config.skipped.map((s) => `${s.role}/${s.name}`));
  const sources: SourcePlan[] = [];
  for (const [role, ref] of [['id-train', config.data.idTrain], ['id-test', config.data.idTest]] as const) {
    if (!skippedRoles.has(`${role}/${role}`)) sources.push(await planSource(role, role, ref.source, ref.size));
  }
  for (const set of config.data.ood) sources.push(await planSource('ood', set.name, set.source, set.size));
  for (const skipped of config.skipped) {
    const required = skipped.role !== 'ood' || skipped.name === config.data.attacked;
    sources.push({
      role: skipped.role,
      name: skipped.name,
      spec: null,
      size: null,
      status: required ? 'problem' : 'skipped',
      reason: `${required ? 'required' : 'optional'}: set ${skipped.variables.map((v) => `--var ${v}=PATH`).join(' ')}`,
    });
  }
  return {
    name: config.name,
    variant: config.variant,
    target: config.target,
    targetDescription: target.config.description,
    out,
    sources,
    attacked: config.data.attacked,
    attacks: config.attacks.map((a) => a.preset),
    adaptive: config.adaptive,
    detectors: config.detectors?.map((d) => (typeof d === 'string' ? d : d.name)) ?? null,
  };
}
