/**
 * File list: a UTF-8 text file with one image per line, `<path>` or `<path>\t<class name>`. Paths are taken
 * verbatim (only the line ending, \n or \r\n, is removed); relative paths are relative to the list file's folder. Blank lines and lines starting with '#' are skipped. Class names
 * are the sorted distinct labels; unlabelled lines get label null. Listed files that are missing are not a
 * listing error: they fail (and are reported) when loaded, so one bad line never stops a run.
 */
import { readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join } from 'node:path';
import { UserError, errorMessage } from '../../core/errors.js';
import type { DecodeOptions } from '../../data/decode-image.js';
import { makeFileSource } from '../../data/image-file.js';
import type { ImageItem, ImageSource } from '../../data/image-source.js';

export async function openFileList(listPath: string, options: DecodeOptions = {}): Promise<ImageSource> {
  let text: string;
  try {
    text = readFileSync(listPath, 'utf8');
  } catch (error) {
    throw new UserError(`${listPath}: cannot read file list (${errorMessage(error)})`);
  }
  const base = dirname(listPath);
  const rows: { path: string; className: string | null }[] = [];
  const seen = new Map<string, number>();
  text.split(/\r?\n/).forEach((line, index) => {
    const where = `${listPath}:${index + 1}`;
    if (line.trim() === '' || line.startsWith('#')) return;
    const fields = line.split('\t');
    if (fields.length > 2) throw new UserError(`${where}: expected '<path>' or '<path>\\t<label>', got ${fields.length} tab-separated fields`);
    // Verbatim: file names may begin or end with spaces, and trimming would load a different file.
    const path = fields[0];
    const className = fields.length === 2 ? fields[1].trim() : null;
    if (path === '') throw new UserError(`${where}: empty path`);
    if (className === '') throw new UserError(`${where}: empty label after the tab`);
    const previous = seen.get(path);
    if (previous !== undefined) throw new UserError(`${where}: '${path}' is already listed on line ${previous}`);
    seen.set(path, index + 1);
    rows.push({ path, className });
  });
  if (rows.length === 0) throw new UserError(`${listPath}: the file list names no images`);
  const classNames = [...new Set(rows.flatMap((r) => (r.className === null ? [] : [r.className])))].sort();
  const items: ImageItem[] = rows.map(({ path, className }) => ({
    id: path,
    label: className === null ? null : classNames.indexOf(className),
    origin: isAbsolute(path) ? path : join(base, path),
  }));
  return makeFileSource(basename(listPath).replace(/\.[^.]*$/, ''), 'file-list', classNames, items, options);
}
