/**
 * README.md dataset card: the YAML header the Hugging Face Hub reads (license, task_categories,
 * size_categories, source_datasets, configs, dataset_info in the Hub's YAML feature form, as
 * datasets.Features._to_yaml_list writes it) and the sections a user needs: what it is, how it was made,
 * how to load it, limitations. Everything comes from the manifest, so `advood release card` can rebuild it.
 */
import type { HfFeature, HfFeatures } from './hf-features.js';
import type { ReleaseManifest } from './release-manifest.js';

export const CARD_FILE = 'README.md';

/** The manifest fields a card is made from (a card never describes its own hash). */
export type CardSource = Omit<ReleaseManifest, 'files' | 'manifestSha256'>;

export interface CardLayout {
  features: HfFeatures;
  /** Glob of the data files relative to the card, for the Hub's `configs`. */
  dataFilesGlob: string;
  /** Bytes of the data files, for `dataset_info`. */
  datasetBytes: number;
  /** Where the card sits, which decides how it tells a reader to load the data (default: a release folder). */
  home?: CardHome;
}

/** A release folder (load_from_disk), its Parquet export (the parquet builder), or a Hub repository (load_dataset). */
export type CardHome = { kind: 'release' } | { kind: 'parquet-export' } | { kind: 'hub'; repo: string };

/** The "How to load it" section for the card's home. */
function loadingSection(home: CardHome): string[] {
  const python = (lines: string[]) => ['```python', 'from datasets import ' + (home.kind === 'release' ? 'load_from_disk' : 'load_dataset'), ...lines, 'ds[0]["image"]  # PIL image', '```'];
  const advood = (source: string, verify: string[]) => [
    'advood (verifies every byte against `manifest.json` first, then evaluates detectors on the clean and adversarial images):',
    '',
    '```sh',
    ...verify,
    `advood evaluate --id-train ID_TRAIN --id-test ID_TEST --ood adv=${source}`,
    '```',
  ];
  switch (home.kind) {
    case 'release':
      return [
        'Python (Hugging Face `datasets`), from a local copy of this directory:',
        '',
        ...python(['ds = load_from_disk("path/to/this/release")']),
        '',
        ...advood('path/to/this/release', ['advood release verify path/to/this/release']),
      ];
    case 'parquet-export':
      return [
        'Python (Hugging Face `datasets`), from a local copy of this directory (or, once published with',
        '`advood release push`, by its repository name):',
        '',
        ...python(['ds = load_dataset("parquet", data_dir="path/to/this/directory/data", split="train")']),
        '',
        'This export holds the rows only; advood evaluates the sealed release it was made from.',
      ];
    case 'hub':
      return [
        'Python (Hugging Face `datasets`):',
        '',
        ...python([`ds = load_dataset(${JSON.stringify(home.repo)}, split="train")`]),
        '',
        '`release/` holds the sealed advood release itself, byte for byte (`load_from_disk` reads a download of it).',
        '',
        ...advood(`hf://datasets/${home.repo}`, []),
      ];
  }
}

/** The Hub's size buckets (huggingface_hub's size_categories vocabulary). */
export function sizeCategory(rows: number): string {
  const buckets: [number, string][] = [
    [1e3, 'n<1K'],
    [1e4, '1K<n<10K'],
    [1e5, '10K<n<100K'],
    [1e6, '100K<n<1M'],
    [1e7, '1M<n<10M'],
    [1e8, '10M<n<100M'],
    [1e9, '100M<n<1B'],
  ];
  for (const [limit, name] of buckets) if (rows < limit) return name;
  return 'n>1T';
}

export function renderCard(source: CardSource, layout: CardLayout): string {
  const q = (s: string) => JSON.stringify(s); // a JSON string is a valid YAML double-quoted scalar
  const yaml: string[] = ['---'];
  yaml.push(`license: ${q(source.card.license)}`);
  yaml.push(`pretty_name: ${q(source.card.prettyName)}`);
  yaml.push('task_categories:', '- image-classification');
  yaml.push('tags:', '- adversarial', '- out-of-distribution', '- ood-detection', '- advood');
  yaml.push('size_categories:', `- ${sizeCategory(source.counts.rows)}`);
  yaml.push('source_datasets:', ...(source.card.sourceDatasets.length ? source.card.sourceDatasets.map((s) => `- ${q(s)}`) : ['- original']));
  yaml.push('configs:', '- config_name: default', '  data_files:', '  - split: train', `    path: ${q(layout.dataFilesGlob)}`);
  yaml.push('dataset_info:', '  features:');
  for (const [name, feature] of Object.entries(layout.features)) yaml.push(...yamlFeature(name, feature).map((l) => '  ' + l));
  yaml.push('  splits:', '  - name: train', `    num_bytes: ${layout.datasetBytes}`, `    num_examples: ${source.counts.rows}`);
  yaml.push(`  dataset_size: ${layout.datasetBytes}`);
  yaml.push('---');

  const success = source.counts.rows;
  const body = [
    `# ${source.card.prettyName}`,
    '',
    '## What it is',
    '',
    source.card.description,
    '',
    `${success} adversarial out-of-distribution images made with [advood](https://www.npmjs.com/package/advood) against ` +
      `\`${source.model.id}\`. Each OOD image was perturbed under a low-frequency constraint until the encoder's embedding ` +
      'of it collides with an in-distribution target (a feature-collision attack after Adaloglou et al., "Adapting ' +
      'Contrastive Language-Image Pretrained (CLIP) Models for Out-of-Distribution Detection", TMLR 2024). ' +
      `The labels are the ${source.schema.classNames.length} in-distribution classes the images were pushed towards.`,
    '',
    '## How it was made',
    '',
    '```',
    source.command,
    '```',
    '',
    `- Target model: \`${source.model.id}\` (weights sha256 \`${source.model.weightsSha256}\`)`,
    `- Attack parameters hash: \`${source.paramsHash}\`, seed ${source.seed}`,
    `- Source items consumed: ${source.counts.itemsConsumed}; rows: ${source.counts.rows}; items skipped with an error: ${source.counts.errors}`,
    `- Versions: ${Object.entries(source.versions).map(([k, v]) => `${k} ${v}`).join(', ') || 'not recorded'}`,
    source.mergedFrom.length ? `- Merged from ${source.mergedFrom.length} parts: ${source.mergedFrom.map((p) => p.name).join(', ')}` : '',
    '',
    'Every row records its provenance: source dataset, id and sha256, target strategy, class and index, attack preset and ' +
      'parameter hash, cosine to the target before and after (after = measured on the saved 8-bit PNG), L∞, L2, PSNR, steps ' +
      'and a success flag. `manifest.json` holds the full resolved configuration, the sha256 of every file and the table of ' +
      'skipped items.',
    '',
    '## How to load it',
    '',
    ...loadingSection(layout.home ?? { kind: 'release' }),
    '',
    '## Limitations',
    '',
    `- The perturbations target \`${source.model.id}\`; how well they transfer to other encoders is not measured here.`,
    '- Images are stored at the model resolution as 8-bit PNG; resizing or lossy re-encoding changes them and can undo the collision.',
    '- The source images keep their own licences and biases; check the source datasets before redistributing.',
    '- This data exists to measure and improve OOD detectors. It shows detectors can be fooled; it is not a benchmark of natural distribution shift.',
    source.card.citation ? `\n## Citation\n\n\`\`\`\n${source.card.citation}\n\`\`\`` : '',
    '',
  ];
  return yaml.join('\n') + '\n\n' + body.filter((line, i, all) => !(line === '' && all[i - 1] === '')).join('\n');
}

/** One feature in the Hub's YAML list form (Features._to_yaml_list, datasets 3.x spelling). */
function yamlFeature(name: string, feature: HfFeature): string[] {
  const head = `- name: ${JSON.stringify(name)}`;
  switch (feature._type) {
    case 'Value':
      return [head, `  dtype: ${feature.dtype}`];
    case 'Image':
      return [head, '  dtype: image'];
    case 'ClassLabel':
      return [head, '  dtype:', '    class_label:', '      names:', ...feature.names.map((n, i) => `        '${i}': ${JSON.stringify(n)}`)];
    case 'Sequence':
      if (feature.feature._type !== 'Value') throw new Error('card: only sequences of plain values are supported');
      return [head, `  sequence: ${feature.feature.dtype}`, `  length: ${feature.length}`];
  }
}
