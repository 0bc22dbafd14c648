/**
 * Which columns of a Hugging Face dataset hold the image and the label, and the class names.
 *
 * The features come from `dataset_info.json` (save_to_disk) or from the `huggingface` key of the Arrow/Parquet
 * schema metadata (`{"info": {"features": …}}`, datasets' ArrowWriter._build_metadata). Only what a source needs
 * is read from them: an Image feature is `{"_type": "Image"}` and is stored as struct<bytes: binary, path: string>
 * (datasets/features/image.py, Image.pa_type); a ClassLabel is `{"names": [...], "_type": "ClassLabel"}`, stored
 * as an integer with -1 for "no label". Every other feature type (Value, List, Audio, …) is only named in errors.
 * Without features (a plain Parquet file), an image column is recognised by that struct type alone.
 */
import { DataType, type Field, type Schema } from 'apache-arrow';
import { UserError } from '../../core/errors.js';
import { parseGuardedJson } from '../../core/json-guard.js';

/** What the user chose for a dataset source (`--split`, `--image-column`, `--label-column`). */
export interface DatasetChoice {
  readonly split?: string;
  readonly imageColumn?: string;
  readonly labelColumn?: string;
}

export interface DatasetColumns {
  readonly image: string;
  /** null: unlabelled. */
  readonly label: string | null;
  /** Class names by label: the ClassLabel's names, or '0'…'max' for an integer column (filled in later). */
  readonly classNames: readonly string[] | null;
}

type FeatureJson = Record<string, unknown>;

/** The `features` object of `{"info": {"features": …}}` in a schema's `huggingface` metadata, or null. */
export function featuresFromSchemaMetadata(metadata: ReadonlyMap<string, string>, where: string): Record<string, FeatureJson> | null {
  const text = metadata.get('huggingface');
  if (text === undefined) return null;
  let parsed: unknown;
  try {
    parsed = parseGuardedJson(text);
  } catch (error) {
    throw new UserError(`${where}: the "huggingface" schema metadata is not JSON (${(error as Error).message})`);
  }
  const features = (parsed as { info?: { features?: unknown } } | null)?.info?.features;
  return isObject(features) ? (features as Record<string, FeatureJson>) : null;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function featureType(feature: unknown): string {
  if (!isObject(feature)) return Array.isArray(feature) ? 'list' : 'unknown';
  if (feature._type === 'Value') return `Value(${String(feature.dtype)})`;
  return String(feature._type ?? 'unknown');
}

function isImageStruct(type: DataType): boolean {
  if (!DataType.isStruct(type)) return false;
  const names = type.children.map((child: Field) => child.name);
  const bytes = type.children.find((child: Field) => child.name === 'bytes');
  return names.includes('path') && bytes !== undefined && (DataType.isBinary(bytes.type) || DataType.isLargeBinary(bytes.type));
}

/** A column's type as the user knows it: the feature type when there are features, else the Arrow type. */
function columnType(field: Field, feature: unknown): string {
  return feature === undefined ? String(field.type) : featureType(feature);
}

function describeColumn(field: Field, feature: unknown): string {
  return `${field.name} (${columnType(field, feature)})`;
}

/**
 * Picks the image and label columns. `where` names the dataset (a folder or file) in errors; the flags are
 * named too, so each refusal is one line the user can act on.
 */
export function chooseDatasetColumns(schema: Schema, features: Record<string, FeatureJson> | null, choice: DatasetChoice, where: string): DatasetColumns {
  const fields = schema.fields;
  const byName = new Map(fields.map((field) => [field.name, field]));
  const listing = fields.map((field) => describeColumn(field, features?.[field.name])).join(', ');
  const isImage = (field: Field) => (features?.[field.name] !== undefined ? features[field.name]._type === 'Image' : isImageStruct(field.type));

  let image: string;
  if (choice.imageColumn !== undefined) {
    const field = byName.get(choice.imageColumn);
    if (!field) throw new UserError(`${where}: no column '${choice.imageColumn}' (--image-column); columns: ${listing}`);
    if (!isImage(field)) {
      throw new UserError(`${where}: column '${field.name}' is ${columnType(field, features?.[field.name])}, not an Image (struct<bytes, path>) (--image-column)`);
    }
    image = field.name;
  } else {
    const images = fields.filter(isImage);
    if (images.length === 0) {
      const named = byName.get('image') ?? byName.get('img');
      const hint = named ? `; its column '${named.name}' is ${columnType(named, features?.[named.name])}, not an Image (struct<bytes, path>)` : '';
      throw new UserError(`${where}: no image column (an Image feature)${hint}; columns: ${listing}`);
    }
    if (images.length > 1) {
      throw new UserError(`${where}: several image columns (${images.map((f) => f.name).join(', ')}); choose one with --image-column`);
    }
    image = images[0].name;
  }

  if (choice.labelColumn !== undefined) {
    const field = byName.get(choice.labelColumn);
    if (!field) throw new UserError(`${where}: no column '${choice.labelColumn}' (--label-column); columns: ${listing}`);
    const feature = features?.[field.name];
    if (isObject(feature) && feature._type === 'ClassLabel') return { image, label: field.name, classNames: classLabelNames(feature, where, field.name) };
    if (!DataType.isInt(field.type) || (isObject(feature) && feature._type !== 'Value')) {
      throw new UserError(`${where}: column '${field.name}' is ${columnType(field, feature)}; a label column must be a ClassLabel or an integer Value (--label-column)`);
    }
    return { image, label: field.name, classNames: null };
  }
  const classLabels = fields.filter((field) => isObject(features?.[field.name]) && features![field.name]._type === 'ClassLabel');
  if (classLabels.length > 1) {
    throw new UserError(`${where}: several ClassLabel columns (${classLabels.map((f) => f.name).join(', ')}); choose one with --label-column`);
  }
  if (classLabels.length === 1) {
    const name = classLabels[0].name;
    return { image, label: name, classNames: classLabelNames(features![name], where, name) };
  }
  return { image, label: null, classNames: [] };
}

function classLabelNames(feature: FeatureJson, where: string, column: string): string[] {
  const names = feature.names;
  if (!Array.isArray(names) || names.length === 0 || !names.every((name) => typeof name === 'string')) {
    throw new UserError(`${where}: the ClassLabel '${column}' has no list of class names`);
  }
  return names as string[];
}

/**
 * The most classes an integer label column without a ClassLabel may number (labels 0…MAX-1). Its names are made
 * as '0'…'max', so a crafted label (2,147,483,647) would otherwise size an allocation no file's bytes justify;
 * 100,000 is over four times ImageNet-21k's 21,843 classes. A dataset with more classes declares a ClassLabel,
 * whose names are bounded by the bytes of its metadata.
 */
export const MAX_NUMBERED_CLASSES = 100_000;

/**
 * Class index of one label cell: ClassLabel's -1 (and null) mean "no label"; any other value must name a class.
 * `classCount` is null for an integer column, whose names are made from the largest label afterwards.
 */
export function labelOf(value: unknown, classCount: number | null, origin: string, column: string): number | null {
  if (value === null || value === undefined) return null;
  const label = Number(value);
  if (label === -1) return null;
  if (!Number.isInteger(label) || label < 0 || (classCount !== null && label >= classCount)) {
    throw new UserError(`${origin}: label ${String(value)} in column '${column}' is not a class index${classCount === null ? '' : ` (0…${classCount - 1})`}`);
  }
  if (classCount === null && label >= MAX_NUMBERED_CLASSES) {
    throw new UserError(
      `${origin}: label ${String(value)} in column '${column}' is beyond the ${MAX_NUMBERED_CLASSES.toLocaleString('en-US')} classes an integer column may number; declare the column a ClassLabel with its names`,
    );
  }
  return label;
}

/** Names for an integer label column without a ClassLabel: '0', '1', … up to the largest label. */
export function numberedClassNames(labels: readonly (number | null)[]): string[] {
  const max = labels.reduce<number>((a, b) => (b === null ? a : Math.max(a, b)), -1);
  return Array.from({ length: max + 1 }, (_, i) => String(i));
}
