/**
 * `hf://datasets/OWNER/NAME[@REVISION][/SUBDIR]`, huggingface_hub's HfFileSystem spelling of a path in a dataset
 * repository. A revision is one path segment (a branch, tag or commit, %2F-encoded if it has slashes) or one of
 * the Hub's special refs `refs/pr/N` and `refs/convert/NAME`, which HfFileSystem also accepts unencoded.
 */
import { UserError } from '../core/errors.js';
import { checkRevision } from '../core/untrusted-names.js';

export const HUB_DATASET_SCHEME = 'hf://datasets/';

export interface HubDatasetUri {
  /** "owner/name". */
  repo: string;
  /** Branch, tag or commit; "main" when the URI names none. */
  revision: string;
  /** Folder inside the repository, without leading or trailing slashes; "" for the whole repository. */
  subdir: string;
}

const NAME = /^[\w.-]+$/;
const SPECIAL_REF = /^(refs\/pr\/\d+|refs\/convert\/[\w.-]+)(?:\/|$)/;

export function isHubDatasetUri(value: string): boolean {
  return value.startsWith(HUB_DATASET_SCHEME);
}

export function parseHubDatasetUri(uri: string): HubDatasetUri {
  const bad = (why: string) => new UserError(`${uri}: ${why}; expected hf://datasets/OWNER/NAME[@REVISION][/SUBDIR]`);
  if (!isHubDatasetUri(uri)) throw bad(`not an ${HUB_DATASET_SCHEME} URI`);
  const rest = uri.slice(HUB_DATASET_SCHEME.length);
  const [owner, nameAndRevision = '', ...afterName] = rest.split('/');
  const at = nameAndRevision.indexOf('@');
  const name = at < 0 ? nameAndRevision : nameAndRevision.slice(0, at);
  if (!owner || !NAME.test(owner) || !NAME.test(name) || owner.includes('..') || name.includes('..')) throw bad('the repository must be OWNER/NAME');
  let revision = 'main';
  let path = afterName.join('/');
  if (at >= 0) {
    const tail = [nameAndRevision.slice(at + 1), ...afterName].join('/');
    const special = SPECIAL_REF.exec(tail);
    const segment = special ? special[1]! : tail.split('/')[0]!;
    path = tail.slice(segment.length).replace(/^\//, '');
    try {
      revision = special ? segment : decodeURIComponent(segment);
    } catch {
      throw bad(`revision '${segment}' is not valid percent-encoding`);
    }
    if (!revision) throw bad('the revision after @ is empty');
    checkRevision(revision, uri);
  }
  const subdir = path.replace(/^\/+|\/+$/g, '');
  if (subdir.split('/').some((part) => part === '..' || part === '.') || subdir.includes('//')) throw bad(`folder '${subdir}' is not a plain relative path`);
  return { repo: `${owner}/${name}`, revision, subdir };
}

export function formatHubDatasetUri(uri: HubDatasetUri): string {
  const revision = uri.revision === 'main' ? '' : `@${SPECIAL_REF.test(uri.revision) ? uri.revision : encodeURIComponent(uri.revision)}`;
  return `${HUB_DATASET_SCHEME}${uri.repo}${revision}${uri.subdir ? `/${uri.subdir}` : ''}`;
}
