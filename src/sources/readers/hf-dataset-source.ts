/**
 * What the two Hugging Face on-disk formats (save_to_disk Arrow, Parquet) share once their files are known: the
 * split choice, the item listing (id `split/row`, origin `file#row`), labels, the fingerprint and the lazy image
 * reads, as one ImageSource.
 */
import { createHash } from 'node:crypto';
import { statSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { UserError } from '../../core/errors.js';
import type { DecodeOptions } from '../../data/decode-image.js';
import { type DatasetChoice, type DatasetColumns, labelOf, numberedClassNames } from './hf-dataset-columns.js';
import type { ImageItem, ImageSource } from '../../data/image-source.js';
import { type BlockPosition, type ImageCell, makeRowBlockSource } from './row-block-source.js';

/** The split to read: the one asked for, else `train`, else the only one. `where` names the dataset. */
export function chooseSplit(splits: readonly string[], choice: DatasetChoice, where: string): string {
  if (choice.split !== undefined) {
    if (!splits.includes(choice.split)) throw new UserError(`${where}: no split '${choice.split}' (--split); splits: ${splits.join(', ')}`);
    return choice.split;
  }
  if (splits.includes('train')) return 'train';
  if (splits.length === 1) return splits[0];
  throw new UserError(`${where}: several splits (${splits.join(', ')}) and none is 'train'; choose one with --split`);
}

/** One data file of the split: its blocks' label cells (or row counts when unlabelled), in order. */
export interface DatasetFile {
  readonly path: string;
  /** Per block: the label cells, one per row (all null when the dataset is unlabelled). */
  readonly blockLabels: readonly (readonly unknown[])[];
}

export interface DatasetSourceSpec {
  /** 'hf-arrow' or 'parquet', in the fingerprint. */
  readonly kind: string;
  readonly name: string;
  /** The folder or file the user named. */
  readonly location: string;
  readonly split: string;
  readonly columns: DatasetColumns;
  readonly files: readonly DatasetFile[];
  readImageBlock(file: number, block: number): Promise<readonly (ImageCell | null)[]>;
  readonly decode?: DecodeOptions;
}

export function assembleDatasetSource(spec: DatasetSourceSpec): ImageSource {
  const { columns, split } = spec;
  const items: ImageItem[] = [];
  const positions: BlockPosition[] = [];
  const blockFiles: { file: number; block: number }[] = [];
  const classCount = columns.classNames === null ? null : columns.classNames.length;
  spec.files.forEach((file, fileIndex) => {
    let rowInFile = 0;
    file.blockLabels.forEach((labels, blockInFile) => {
      const block = blockFiles.length;
      blockFiles.push({ file: fileIndex, block: blockInFile });
      labels.forEach((cell, offset) => {
        const origin = `${file.path}#${rowInFile++}`;
        const label = columns.label === null ? null : labelOf(cell, classCount, origin, columns.label);
        items.push({ id: `${split}/${items.length}`, label, origin });
        positions.push({ block, offset });
      });
    });
  });
  if (items.length === 0) throw new UserError(`${spec.location}: split '${split}' has no rows`);
  const classNames = columns.label === null ? [] : (columns.classNames ?? numberedClassNames(items.map((item) => item.label)));
  return makeRowBlockSource({
    name: spec.name,
    classNames,
    fingerprint: datasetFingerprint(spec, classNames),
    items,
    positions,
    readBlock: (block) => spec.readImageBlock(blockFiles[block].file, blockFiles[block].block),
    imageRootOf: (block) => dirname(spec.files[blockFiles[block].file].path),
    decode: spec.decode,
  });
}

/**
 * sha256 over the kind, the absolute location (cached features record origins), split, columns, class names
 * and each file's path, size and mtime: like the image-folder fingerprint, cheap to compute for 50k rows, and a
 * rewritten file changes its mtime.
 */
function datasetFingerprint(spec: DatasetSourceSpec, classNames: readonly string[]): string {
  const hash = createHash('sha256');
  hash.update(JSON.stringify({ kind: spec.kind, location: resolve(spec.location), split: spec.split, columns: spec.columns, classNames }));
  for (const file of spec.files) {
    const info = statSync(file.path);
    hash.update(`\n${resolve(file.path)}\t${info.size}\t${Math.round(info.mtimeMs)}`);
  }
  return hash.digest('hex');
}
