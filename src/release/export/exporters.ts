/** The export formats by name: the choices of `advood release export --to`. A new format is a new entry here. */
import { UserError } from '../../core/errors.js';
import type { ExporterEntry } from './exporter.js';
import { imageFolderExporter } from './imagefolder-export.js';
import { parquetExporter } from './parquet-export.js';

export const EXPORTERS: readonly ExporterEntry[] = [imageFolderExporter, parquetExporter];

export function exporterNamed(name: string): ExporterEntry {
  const entry = EXPORTERS.find((e) => e.name === name);
  if (!entry) throw new UserError(`unknown export format '${name}'; known: ${EXPORTERS.map((e) => e.name).join(', ')}`);
  return entry;
}
