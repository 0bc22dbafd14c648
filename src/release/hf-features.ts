/**
 * Hugging Face `datasets` feature types, as they appear in dataset_info.json and in the `huggingface` schema
 * metadata, and their Arrow types. The JSON follows `datasets.Features.to_dict()` exactly: dataclass fields
 * equal to their default are left out, `_type` is always kept and comes last (datasets/features/features.py,
 * `asdict`). So Value is `{"dtype", "_type"}`, Image is `{"_type"}`, ClassLabel is `{"names", "_type"}` and a
 * fixed-length Sequence is `{"feature", "length", "_type"}`. "Sequence" (not datasets 4's "List") is written
 * because datasets 2.x/3.x only know it and 4.x still reads it (generate_from_dict's backward compatibility).
 */
import { Binary, Bool, type DataType, Field, FixedSizeList, Float32, Float64, Int32, Int64, Struct, Utf8 } from 'apache-arrow';
import { isPlainObject } from '../core/config-checker.js';
import { UserError } from '../core/errors.js';

export type ValueDtype = 'string' | 'int32' | 'int64' | 'float32' | 'float64' | 'bool';

export type HfFeature =
  | { dtype: ValueDtype; _type: 'Value' }
  | { _type: 'Image' }
  | { names: string[]; _type: 'ClassLabel' }
  | { feature: HfFeature; length: number; _type: 'Sequence' };

/** Column name → feature, in column order (JSON object key order is the Arrow field order). */
export type HfFeatures = Record<string, HfFeature>;

export const hfValue = (dtype: ValueDtype): HfFeature => ({ dtype, _type: 'Value' });
export const hfImage = (): HfFeature => ({ _type: 'Image' });
export const hfClassLabel = (names: readonly string[]): HfFeature => ({ names: [...names], _type: 'ClassLabel' });
export const hfFixedSequence = (feature: HfFeature, length: number): HfFeature => ({ feature, length, _type: 'Sequence' });

/**
 * The Arrow type `datasets` uses for a feature (Features.arrow_schema). Every field is nullable, as pyarrow
 * makes them; apache-arrow's Field defaults to non-nullable, so nullability is always given explicitly.
 */
export function hfFeatureToArrowType(feature: HfFeature): DataType {
  switch (feature._type) {
    case 'Value':
      return valueType(feature.dtype);
    case 'Image':
      // datasets.Image.pa_type: struct<bytes: binary, path: string>, in that order.
      return new Struct([new Field('bytes', new Binary(), true), new Field('path', new Utf8(), true)]);
    case 'ClassLabel':
      return new Int64();
    case 'Sequence':
      // pa.list_(value_type, length) names its child "item".
      return new FixedSizeList(feature.length, new Field('item', hfFeatureToArrowType(feature.feature), true));
  }
}

function valueType(dtype: ValueDtype): DataType {
  switch (dtype) {
    case 'string':
      return new Utf8();
    case 'int32':
      return new Int32();
    case 'int64':
      return new Int64();
    case 'float32':
      return new Float32();
    case 'float64':
      return new Float64();
    case 'bool':
      return new Bool();
  }
}

/** Parses features read back from a file, refusing anything this module does not write. */
export function parseHfFeatures(json: unknown, where: string): HfFeatures {
  if (!isPlainObject(json)) throw new UserError(`${where}: "features" is not an object`);
  const out: HfFeatures = {};
  for (const [name, value] of Object.entries(json)) out[name] = parseFeature(value, `${where}: feature "${name}"`);
  return out;
}

function parseFeature(json: unknown, where: string): HfFeature {
  if (!isPlainObject(json)) throw new UserError(`${where} is not an object`);
  switch (json._type) {
    case 'Value':
      if (!['string', 'int32', 'int64', 'float32', 'float64', 'bool'].includes(json.dtype as string)) {
        throw new UserError(`${where} has unsupported dtype ${JSON.stringify(json.dtype)}`);
      }
      return hfValue(json.dtype as ValueDtype);
    case 'Image':
      return hfImage();
    case 'ClassLabel':
      if (!Array.isArray(json.names) || !json.names.every((n) => typeof n === 'string')) {
        throw new UserError(`${where}: ClassLabel needs a list of string names`);
      }
      return hfClassLabel(json.names as string[]);
    case 'Sequence':
      if (!Number.isInteger(json.length) || (json.length as number) <= 0) {
        throw new UserError(`${where}: only fixed-length Sequences are supported`);
      }
      return hfFixedSequence(parseFeature(json.feature, `${where}.feature`), json.length as number);
    default:
      throw new UserError(`${where} has unsupported _type ${JSON.stringify(json._type)}`);
  }
}

/** The schema metadata value `datasets.ArrowWriter._build_metadata` stores under the key "huggingface". */
export function hfSchemaMetadata(features: HfFeatures): string {
  return JSON.stringify({ info: { features } });
}
