/**
 * `advood release export --to imagefolder`: one PNG per row under a folder per target class, for looking at
 * the images, plus metadata.csv (the `datasets` ImageFolder convention: a `file_name` column and extra columns)
 * with each row's id, source and attack outcome. Rows without a class go to `unlabelled/`.
 */
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../write/atomic-file.js';
import type { ExporterEntry } from './exporter.js';
import { type ExportOptions, writeExport } from './export-target.js';
import { openVerifiedRelease } from '../read/verified-release.js';

export async function exportImageFolder(dir: string, out: string, options: ExportOptions = {}): Promise<{ images: number }> {
  return writeExport(dir, out, options, async () => {
    const { release } = await openVerifiedRelease(dir, 'not exporting it');
    const classNames = release.manifest.schema.classNames;
    const csv = ['file_name,id,source_dataset,source_id,target_class,cos_before,cos_after,psnr,success'];
    let index = 0;
    for (let shard = 0; shard < release.shardPaths.length; shard++) {
      // A whole shard is checked before its first image is written: a shard swapped after verify writes nothing.
      for await (const row of (await release.wholeShard(shard)).rows()) {
        const folder = row.label >= 0 && row.label < classNames.length ? safeName(classNames[row.label]!) : 'unlabelled';
        const file = `${folder}/${String(index).padStart(6, '0')}_${safeName(row.id)}.png`;
        mkdirSync(join(out, folder), { recursive: true });
        writeFileAtomic(join(out, file), row.image);
        csv.push([file, row.id, row.sourceDataset, row.sourceId, row.targetClass, row.cosBefore, row.cosAfter, row.psnr, row.success].map(csvField).join(','));
        index++;
      }
    }
    mkdirSync(out, { recursive: true });
    writeFileAtomic(join(out, 'metadata.csv'), csv.join('\n') + '\n');
    return { images: index };
  });
}

/** Folder and file names from class names and ids ("T-shirt/top" → "T-shirt_top"). */
function safeName(name: string): string {
  const cleaned = name.replace(/[^A-Za-z0-9._-]+/g, '_').replace(/^\.+/, '_');
  return cleaned === '' ? '_' : cleaned.slice(0, 120);
}

function csvField(value: unknown): string {
  const text = String(value);
  return /[",\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

/** RFC 4180 records: quoted fields may hold commas, quotes ("") and newlines. */
function parseCsv(text: string): string[][] {
  const records: string[][] = [];
  let record: string[] = [];
  let field = '';
  let quoted = false;
  const endField = () => {
    record.push(field);
    field = '';
  };
  for (let i = 0; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted && ch === '"' && text[i + 1] === '"') {
      field += '"';
      i++;
    } else if (ch === '"') {
      quoted = !quoted;
    } else if (!quoted && ch === ',') {
      endField();
    } else if (!quoted && ch === '\n') {
      endField();
      records.push(record);
      record = [];
    } else {
      field += ch;
    }
  }
  if (field !== '' || record.length > 0) {
    endField();
    records.push(record);
  }
  return records;
}

export const imageFolderExporter: ExporterEntry = {
  name: 'imagefolder',
  description: 'one PNG per row in a folder per target class, with metadata.csv',
  run: (dir, out, options) => exportImageFolder(dir, out, options),
  async readBack(out) {
    const [header, ...rows] = parseCsv(readFileSync(join(out, 'metadata.csv'), 'utf8'));
    const file = header!.indexOf('file_name');
    const id = header!.indexOf('id');
    return rows.map((row) => ({ id: row[id]!, image: readFileSync(join(out, row[file]!)) }));
  },
};
