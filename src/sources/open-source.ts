/**
 * From a source spec to an opened source. A spec is `KIND:LOCATION` with a kind's explicit prefix, or a bare
 * local path opened by content (src/sources/source-kinds.ts). A kind matched by a URI scheme (`resolve`) turns its
 * spec into a local path, which is then opened by content like a bare path; a `?split=…` query
 * (src/sources/source-spec.ts) chooses within a dataset.
 */
import { existsSync } from 'node:fs';
import { basename, resolve } from 'node:path';
import { UserError } from '../core/errors.js';
import type { ImageSource } from '../data/image-source.js';
import type { OpenedSource, SourceKind, SourceOptions } from './source-kind.js';
import { sourceSpecHelp } from './source-help.js';
import { SOURCE_KINDS } from './source-kinds.js';
import { joinSpecChoice, mergeChoice, splitSpecChoice } from './source-spec.js';

function kindOfPrefix(spec: string, kinds: readonly SourceKind[] = SOURCE_KINDS): SourceKind | undefined {
  return kinds.find((kind) => spec.startsWith(kind.prefix));
}

async function openLocal(path: string, options: SourceOptions): Promise<OpenedSource> {
  // URI kinds resolve to local paths, which only the local kinds open.
  const kind = SOURCE_KINDS.find((candidate) => candidate.open && candidate.sniff?.(path));
  if (kind) return (kind.openFound ?? kind.open)!(path, options);
  const expected = `expected ${sourceSpecHelp()}`;
  if (existsSync(path)) throw new UserError(`${path}: a file of no source kind (not Parquet, IDX images or a file list); ${expected}`);
  throw new UserError(`unknown data spec '${path}': no such file or directory; ${expected}`);
}

/**
 * Opens any source spec. `defaults` are the command's --split/--image-column/--label-column; the spec's own
 * `?split=…` query wins over them.
 */
export function openSource(text: string, defaults: SourceOptions = {}): Promise<OpenedSource> {
  return openSourceAmong(SOURCE_KINDS, text, defaults);
}

/** openSource over a given list of kinds (SOURCE_KINDS plus a URI kind, in the tests). */
export async function openSourceAmong(kinds: readonly SourceKind[], text: string, defaults: SourceOptions = {}): Promise<OpenedSource> {
  const { spec, choice } = splitSpecChoice(text);
  const options: SourceOptions = { ...defaults, ...mergeChoice(choice, defaults) };
  const kind = kindOfPrefix(spec, kinds);
  if (kind) {
    const location = spec.slice(kind.prefix.length);
    if (location === '') throw new UserError(`${text}: nothing after '${kind.prefix}'; expected ${kind.prefix}${kind.syntax}`);
    if (kind.resolve) {
      const resolved = await kind.resolve(location, options);
      return openLocal(resolved.path, { ...options, trustedLinksInto: resolved.trustedLinksInto });
    }
    return kind.open!(location, options);
  }
  const unknown = /^([a-z][a-z0-9+.-]*):./.exec(spec);
  if (unknown && !existsSync(spec)) throw new UserError(`unknown data spec '${text}': unknown kind '${unknown[1]}:'; expected ${sourceSpecHelp()}`);
  return openLocal(spec, options);
}

/**
 * The spec that names exactly the content it reads now: a URI kind's location pinned (a Hub branch → its
 * commit, fetching the data on the way), anything else unchanged. generate records this, so a release says
 * which commit of a Hub dataset it attacked, and a resumed run refuses a branch that has moved since.
 */
export async function pinSourceSpec(text: string, defaults: SourceOptions = {}): Promise<string> {
  const { spec, choice } = splitSpecChoice(text);
  const kind = kindOfPrefix(spec);
  if (!kind?.resolve) return text;
  const resolved = await kind.resolve(spec.slice(kind.prefix.length), { ...defaults, ...mergeChoice(choice, defaults) });
  return resolved.pinned === undefined ? text : joinSpecChoice(`${kind.prefix}${resolved.pinned}`, choice);
}

/** Opens a spec as images: a release gives its adversarial images. */
export async function openImageSource(text: string, defaults: SourceOptions = {}): Promise<ImageSource> {
  const opened = await openSource(text, defaults);
  return opened.type === 'images' ? opened.images : opened.openColumn('image', basename(resolve(opened.dir)));
}

/** A short name for a spec (reports, the default of `name=`): the last component of its location. */
export function sourceDisplayName(text: string): string {
  const { spec } = splitSpecChoice(text);
  const kind = kindOfPrefix(spec);
  return basename(resolve((kind ? spec.slice(kind.prefix.length) : spec).split(',')[0]));
}

