/**
 * An in-process Hugging Face Hub on 127.0.0.1 for tests: the endpoints that @huggingface/hub (dist/index.mjs:
 * whoAmI, createRepo, createBranch, datasetInfo, commitIter, listFiles, pathsInfo) and Python's huggingface_hub /
 * datasets (dataset_info, list_repo_tree, get_paths_info, hf_hub_download, HfFileSystem) call for dataset and
 * model repos, answered the way huggingface.co answers them:
 *
 *   GET  /api/whoami-v2                                       401 without a known token
 *   POST /api/repos/create                                    409 when the repo exists
 *   GET  /api/{datasets|models}/R[/revision/REV]              repo info with sha and siblings; 404 RepoNotFound / RevisionNotFound
 *   POST /api/{type}/R/branch/B                               create a branch
 *   POST /api/{type}/R/preupload/REV                          uploadMode lfs|regular per file
 *   POST /{datasets/}R.git/info/lfs/objects/batch             basic and multipart (header.chunk_size) transfers; never xet
 *   PUT  /lfs-upload/OID[/PART]   POST /lfs-upload/OID/complete   sha256-checked before the object exists
 *   POST /api/{type}/R/commit/REV                             NDJSON; parentCommit ≠ head → 412
 *   GET  /api/{type}/R/tree/REV[/PATH]?recursive&expand&cursor  paginated with a Link header
 *   POST /api/{type}/R/paths-info/REV                         JSON or form-encoded (Python sends a form)
 *   GET|HEAD /{datasets/}R/resolve/REV/PATH                   ETag, X-Repo-Commit; LFS: 302 to a "CDN" (this server as
 *                                                             localhost) with X-Linked-Etag/X-Linked-Size; Range on the bytes;
 *                                                             401 without the token for a gated repo's files
 *
 * State is in memory; commits get sha1 ids over their parent, tree and message like git's, so moving a branch
 * changes the sha. Faults are injected per request pattern; every request is logged.
 */
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export type RepoType = 'dataset' | 'model';

export interface LoggedRequest {
  method: string;
  /** Path and query, as received. */
  url: string;
  status: number;
  /** Request body bytes. */
  bytesIn: number;
}

export interface Fault {
  method?: string;
  /** Matched against the request's path and query. */
  path?: RegExp;
  /** HTTP status to answer with; omit to only run `before` and then serve the request normally. */
  status?: number;
  /** How many matching requests it applies to (default 1). */
  times?: number;
  headers?: Record<string, string>;
  /** JSON body of the fault answer (default `{ error: "mock fault <status>" }`). */
  body?: unknown;
  /** Runs before the matching request is served (e.g. move a branch to provoke a 412). */
  before?: () => void;
}

export interface MockHubOptions {
  /** Namespace of the token holder (default "advood-tester"). */
  user?: string;
  /** Extra namespaces (organisations) the user may create repos in. */
  orgs?: string[];
  /** Files at least this large get a multipart LFS upload (default 1 MiB). */
  multipartThresholdBytes?: number;
  /** Part size of multipart uploads (default 512 KiB). */
  partBytes?: number;
  /** Entries per tree page (huggingface.co: 1000, 50 with expand). */
  treePageSize?: number;
}

interface TreeEntry {
  size: number;
  /** git blob sha1 of the stored content (for LFS files: of the pointer file). */
  blobOid: string;
  /** sha256 of the content for LFS files. */
  lfsOid?: string;
  /** Inline content of a regular file. */
  content?: Buffer;
}

interface Commit {
  id: string;
  parent: string | null;
  title: string;
  date: string;
  tree: Map<string, TreeEntry>;
}

interface Repo {
  type: RepoType;
  id: string;
  private: boolean;
  /** Gated: info and listing are public, files need the token (huggingface.co's 'manual' gating, access granted). */
  gated: boolean;
  branches: Map<string, string>;
  tags: Map<string, string>;
  createdAt: string;
}

export interface MockHub {
  /** Base URL, e.g. http://127.0.0.1:41234 (for HF_ENDPOINT / hubUrl). */
  readonly url: string;
  /** A token the mock accepts (starts with hf_). */
  readonly token: string;
  readonly user: string;
  readonly requests: LoggedRequest[];
  /** Adds a fault; returns it so a test can check how many times it fired (`fired`). */
  inject(fault: Fault): Fault & { fired: number };
  /** Creates a repo with an initial commit (.gitattributes plus `files`); returns the commit sha. */
  createRepo(repo: string, options?: { type?: RepoType; private?: boolean; gated?: boolean; files?: Record<string, Uint8Array | string> }): string;
  /** Commits files onto a branch (created from main when absent) as another user would; returns the new sha. */
  commitFiles(repo: string, files: Record<string, Uint8Array | string>, options?: { type?: RepoType; branch?: string; title?: string; deletes?: string[] }): string;
  /** Head commit of a branch or tag, or undefined. */
  head(repo: string, revision?: string, type?: RepoType): string | undefined;
  /** Content of a file at a revision (LFS files resolved), or undefined. */
  file(repo: string, path: string, revision?: string, type?: RepoType): Buffer | undefined;
  /** Paths at a revision, sorted. */
  paths(repo: string, revision?: string, type?: RepoType): string[];
  /** Requests that send file content: LFS PUTs, multipart completions and commits. */
  uploadRequests(): LoggedRequest[];
  close(): Promise<void>;
}

const TYPE_PREFIX: Record<string, RepoType> = { datasets: 'dataset', models: 'model' };
/** Extensions the Hub's default .gitattributes stores in LFS (a subset that covers advood's files). */
const LFS_EXTENSIONS = /\.(arrow|parquet|png|jpe?g|bin|safetensors|npy|npz|pt|pth|onnx|zip|gz|tar|h5|msgpack|model)$/i;
/** huggingface.co stores files of 10 MB and more in LFS whatever their name. */
const LFS_SIZE = 10 * 1000 * 1000;
const GITATTRIBUTES = '*.arrow filter=lfs diff=lfs merge=lfs -text\n*.parquet filter=lfs diff=lfs merge=lfs -text\n*.png filter=lfs diff=lfs merge=lfs -text\n';

const sha1 = (data: string | Buffer) => createHash('sha1').update(data).digest('hex');
const sha256 = (data: Buffer) => createHash('sha256').update(data).digest('hex');
const gitBlobSha = (content: Buffer) => sha1(Buffer.concat([Buffer.from(`blob ${content.length}\0`), content]));
const lfsPointer = (oid: string, size: number) => `version https://git-lfs.github.com/spec/v1\noid sha256:${oid}\nsize ${size}\n`;

function isLfsPath(path: string, size: number, sample?: Buffer): boolean {
  return LFS_EXTENSIONS.test(path) || size >= LFS_SIZE || (sample !== undefined && sample.includes(0));
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly errorCode?: string,
  ) {
    super(message);
  }
}

export async function startMockHub(options: MockHubOptions = {}): Promise<MockHub> {
  const user = options.user ?? 'advood-tester';
  const namespaces = new Set([user, ...(options.orgs ?? [])]);
  const token = `hf_mock${createHash('sha256').update(String(Math.random())).digest('hex').slice(0, 24)}`;
  const multipartThreshold = options.multipartThresholdBytes ?? 1 << 20;
  const partBytes = options.partBytes ?? 1 << 19;
  const treePageSize = options.treePageSize ?? 1000;
  const repos = new Map<string, Repo>();
  const commits = new Map<string, Commit>();
  const lfsObjects = new Map<string, Buffer>();
  const multipartParts = new Map<string, Map<number, Buffer>>();
  const faults: (Fault & { fired: number })[] = [];
  const requests: LoggedRequest[] = [];
  let clock = Date.parse('2026-01-01T00:00:00Z');
  let base = '';
  /**
   * The same server under another host name: huggingface_hub follows a redirect to the same host and reads the
   * file's metadata from where it lands, so the CDN must look like another host, as cdn-lfs.hf.co does.
   */
  let cdnBase = '';

  const key = (type: RepoType, id: string) => `${type}:${id}`;
  const nextDate = () => new Date((clock += 1000)).toISOString();

  function makeCommit(parent: string | null, tree: Map<string, TreeEntry>, title: string): string {
    const listing = [...tree.entries()].sort(([a], [b]) => (a < b ? -1 : 1)).map(([p, e]) => `${e.blobOid} ${p}`).join('\n');
    const date = nextDate();
    const id = sha1(`commit\ntree ${sha1(listing)}\nparent ${parent ?? ''}\ndate ${date}\n\n${title}`);
    commits.set(id, { id, parent, title, date, tree });
    return id;
  }

  function storeEntry(path: string, content: Buffer): TreeEntry {
    if (isLfsPath(path, content.length, content.subarray(0, 512))) {
      const oid = sha256(content);
      lfsObjects.set(oid, content);
      return { size: content.length, lfsOid: oid, blobOid: gitBlobSha(Buffer.from(lfsPointer(oid, content.length))) };
    }
    return { size: content.length, blobOid: gitBlobSha(content), content };
  }

  function getRepo(type: RepoType, id: string, auth: string | null): Repo {
    const repo = repos.get(key(type, id));
    // huggingface.co answers a private repo the caller may not see exactly like a missing one.
    if (!repo || (repo.private && auth !== token)) throw new HttpError(404, 'Repository not found', 'RepoNotFound');
    return repo;
  }

  function resolveRevision(repo: Repo, revision: string): Commit {
    const rev = decodeURIComponent(revision);
    const id = rev === 'HEAD' ? repo.branches.get('main') : (repo.branches.get(rev) ?? repo.tags.get(rev) ?? (commits.has(rev) ? rev : undefined));
    const commit = id ? commits.get(id) : undefined;
    if (!commit) throw new HttpError(404, `Invalid rev id: ${rev}`, 'RevisionNotFound');
    return commit;
  }

  function requireWrite(auth: string | null, repoId?: string): void {
    if (auth !== token) throw new HttpError(401, 'Invalid credentials in Authorization header');
    if (repoId && !namespaces.has(repoId.split('/')[0]!)) throw new HttpError(403, `You don't have the rights to write to ${repoId}`);
  }

  function entryJson(path: string, entry: TreeEntry, commit: Commit, expand: boolean): Record<string, unknown> {
    return {
      type: 'file',
      oid: entry.blobOid,
      size: entry.size,
      path,
      ...(entry.lfsOid ? { lfs: { oid: entry.lfsOid, size: entry.size, pointerSize: lfsPointer(entry.lfsOid, entry.size).length } } : {}),
      ...(expand ? { lastCommit: { id: commit.id, title: commit.title, date: commit.date }, securityFileStatus: { status: 'safe' } } : {}),
    };
  }

  function listTree(commit: Commit, dir: string, recursive: boolean, expand: boolean): Record<string, unknown>[] {
    const prefix = dir ? `${dir}/` : '';
    if (dir && !commit.tree.has(dir) && ![...commit.tree.keys()].some((p) => p.startsWith(prefix))) {
      throw new HttpError(404, `Entry not found: ${dir}`, 'EntryNotFound');
    }
    const out = new Map<string, Record<string, unknown>>();
    for (const [path, entry] of [...commit.tree.entries()].sort(([a], [b]) => (a < b ? -1 : 1))) {
      if (!path.startsWith(prefix)) continue;
      const parts = path.slice(prefix.length).split('/');
      // Directories are listed before their contents, as the Hub does, for both recursive and flat listings.
      for (let depth = 1; depth < parts.length && (recursive || depth === 1); depth++) {
        const sub = prefix + parts.slice(0, depth).join('/');
        if (!out.has(sub)) out.set(sub, { type: 'directory', oid: sha1(`tree ${commit.id} ${sub}`), size: 0, path: sub });
      }
      if (recursive || parts.length === 1) out.set(path, entryJson(path, entry, commit, expand));
    }
    return [...out.values()];
  }

  function repoInfo(repo: Repo, commit: Commit): Record<string, unknown> {
    return {
      _id: sha1(`id ${repo.type} ${repo.id}`).slice(0, 24),
      id: repo.id,
      author: repo.id.split('/')[0],
      sha: commit.id,
      lastModified: commit.date,
      createdAt: repo.createdAt,
      private: repo.private,
      gated: repo.gated ? 'manual' : false,
      disabled: false,
      downloads: 0,
      likes: 0,
      tags: [],
      cardData: {},
      siblings: [...commit.tree.keys()].sort().map((rfilename) => ({ rfilename })),
    };
  }

  function applyCommit(repo: Repo, branch: string, lines: Record<string, unknown>[]): string {
    const [header, ...ops] = lines;
    if (!header || header.key !== 'header') throw new HttpError(400, 'The first NDJSON line must be the header');
    const value = header.value as { summary?: string; parentCommit?: string };
    const headId = repo.branches.get(branch);
    if (!headId) throw new HttpError(404, `Invalid rev id: ${branch}`, 'RevisionNotFound');
    if (value.parentCommit && value.parentCommit !== headId) {
      throw new HttpError(412, 'A commit has happened since. Please refresh and try again.');
    }
    const tree = new Map(commits.get(headId)!.tree);
    for (const op of ops) {
      const v = op.value as { path: string; content?: string; oid?: string; size?: number };
      if (op.key === 'file') tree.set(v.path, storeEntry(v.path, Buffer.from(v.content ?? '', 'base64')));
      else if (op.key === 'lfsFile') {
        const object = lfsObjects.get(v.oid ?? '');
        if (!object || object.length !== v.size) throw new HttpError(422, `LFS object ${v.oid} of ${v.path} was never uploaded`);
        tree.set(v.path, { size: object.length, lfsOid: v.oid, blobOid: gitBlobSha(Buffer.from(lfsPointer(v.oid!, object.length))) });
      } else if (op.key === 'deletedFile') {
        if (!tree.delete(v.path)) throw new HttpError(404, `File not found: ${v.path}`, 'EntryNotFound');
      } else if (op.key === 'deletedFolder') {
        for (const p of [...tree.keys()]) if (p.startsWith(`${v.path}/`)) tree.delete(p);
      } else throw new HttpError(400, `Unknown NDJSON key ${String(op.key)}`);
    }
    const id = makeCommit(headId, tree, value.summary ?? 'commit');
    repo.branches.set(branch, id);
    return id;
  }

  function lfsBatch(body: { operation?: string; objects?: { oid: string; size: number }[] }): Record<string, unknown> {
    if (body.operation !== 'upload') throw new HttpError(400, 'only upload batches are implemented');
    const objects = (body.objects ?? []).map(({ oid, size }) => {
      if (lfsObjects.has(oid)) return { oid, size, authenticated: true };
      if (size >= multipartThreshold) {
        const parts = Math.ceil(size / partBytes);
        const header: Record<string, string> = { chunk_size: String(partBytes) };
        for (let part = 1; part <= parts; part++) header[String(part)] = `${base}/lfs-upload/${oid}/${size}/part/${part}`;
        return { oid, size, authenticated: true, actions: { upload: { href: `${base}/lfs-upload/${oid}/${size}/complete`, header } } };
      }
      return { oid, size, authenticated: true, actions: { upload: { href: `${base}/lfs-upload/${oid}/${size}` } } };
    });
    return { transfer: 'basic', objects };
  }

  function storeLfs(oid: string, size: number, content: Buffer): void {
    if (content.length !== size || sha256(content) !== oid) {
      throw new HttpError(400, `uploaded bytes have sha256 ${sha256(content)} and size ${content.length}, expected ${oid} and ${size}`);
    }
    lfsObjects.set(oid, content);
  }

  function serveBytes(req: IncomingMessage, res: ServerResponse, content: Buffer, headers: Record<string, string>): void {
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    let status = 200;
    let body = content;
    if (range) {
      const start = range[1] ? Number(range[1]) : Math.max(0, content.length - Number(range[2]));
      const end = range[1] && range[2] ? Math.min(Number(range[2]), content.length - 1) : content.length - 1;
      if (start >= content.length) {
        res.writeHead(416, { 'Content-Range': `bytes */${content.length}` }).end();
        return;
      }
      status = 206;
      body = content.subarray(start, end + 1);
      headers['Content-Range'] = `bytes ${start}-${end}/${content.length}`;
    }
    res.writeHead(status, { ...headers, 'Accept-Ranges': 'bytes', 'Content-Length': String(body.length), 'Content-Type': 'application/octet-stream' });
    res.end(req.method === 'HEAD' ? undefined : body);
  }

  async function route(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const url = new URL(req.url ?? '/', base);
    const path = url.pathname;
    const auth = (req.headers.authorization ?? '').replace(/^Bearer\s+/i, '') || null;
    if (auth !== null && auth !== token) throw new HttpError(401, 'Invalid credentials in Authorization header');
    const json = (status: number, value: unknown, headers: Record<string, string> = {}) => {
      res.writeHead(status, { 'Content-Type': 'application/json', ...headers }).end(JSON.stringify(value));
    };
    const parseJson = () => JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
    let m: RegExpExecArray | null;

    if (path === '/api/whoami-v2') {
      if (!auth) throw new HttpError(401, 'Invalid credentials in Authorization header');
      return json(200, {
        type: 'user',
        id: sha1(user).slice(0, 24),
        name: user,
        fullname: user,
        orgs: (options.orgs ?? []).map((name) => ({ type: 'org', name })),
        auth: { type: 'access_token', accessToken: { displayName: 'mock', role: 'write', createdAt: '2026-01-01T00:00:00.000Z' } },
      });
    }
    if (path === '/api/repos/create' && req.method === 'POST') {
      const b = parseJson() as { name?: string; organization?: string; type?: string; private?: boolean; visibility?: string };
      const id = `${b.organization ?? user}/${b.name}`;
      requireWrite(auth, id);
      const type: RepoType = b.type === 'dataset' ? 'dataset' : 'model';
      if (repos.has(key(type, id))) return json(409, { error: `You already created this ${type} repo`, url: `${base}/${type === 'dataset' ? 'datasets/' : ''}${id}` });
      api.createRepo(id, { type, private: b.private === true || b.visibility === 'private' });
      return json(200, { url: `${base}/${type === 'dataset' ? 'datasets/' : ''}${id}`, name: id, id: sha1(id).slice(0, 24) });
    }
    if ((m = /^\/api\/(datasets|models)\/([^/]+\/[^/]+)(?:\/(.*))?$/.exec(path))) {
      const type = TYPE_PREFIX[m[1]!]!;
      const repo = getRepo(type, m[2]!, auth);
      const rest = m[3] ?? '';
      let r: RegExpExecArray | null;
      if (rest === '') return json(200, repoInfo(repo, resolveRevision(repo, 'main')));
      if ((r = /^revision\/([^/]+)$/.exec(rest))) return json(200, repoInfo(repo, resolveRevision(repo, r[1]!)));
      if ((r = /^branch\/([^/]+)$/.exec(rest)) && req.method === 'POST') {
        requireWrite(auth, repo.id);
        const branch = decodeURIComponent(r[1]!);
        const b = parseJson() as { startingPoint?: string; overwrite?: boolean };
        if (repo.branches.has(branch) && !b.overwrite) throw new HttpError(409, `Branch ${branch} already exists`);
        repo.branches.set(branch, resolveRevision(repo, b.startingPoint ?? 'main').id);
        return json(200, {});
      }
      if ((r = /^preupload\/([^/]+)$/.exec(rest)) && req.method === 'POST') {
        requireWrite(auth, repo.id);
        const commit = resolveRevision(repo, r[1]!);
        const files = (parseJson().files ?? []) as { path: string; size: number; sample: string }[];
        return json(200, {
          files: files.map((f) => ({
            path: f.path,
            uploadMode: isLfsPath(f.path, f.size, Buffer.from(f.sample, 'base64')) ? 'lfs' : 'regular',
            shouldIgnore: false,
            ...(commit.tree.has(f.path) ? { oid: commit.tree.get(f.path)!.blobOid } : {}),
          })),
        });
      }
      if ((r = /^commit\/([^/]+)$/.exec(rest)) && req.method === 'POST') {
        requireWrite(auth, repo.id);
        const lines = body.toString('utf8').split('\n').filter((l) => l.trim()).map((l) => JSON.parse(l) as Record<string, unknown>);
        const id = applyCommit(repo, decodeURIComponent(r[1]!), lines);
        return json(200, { success: true, commitOid: id, commitUrl: `${base}/${type === 'dataset' ? 'datasets/' : ''}${repo.id}/commit/${id}`, hookOutput: '' });
      }
      if ((r = /^tree\/([^/]+)(?:\/(.*))?$/.exec(rest))) {
        const commit = resolveRevision(repo, r[1]!);
        const expand = url.searchParams.get('expand')?.toLowerCase() === 'true';
        const all = listTree(commit, decodeURIComponent(r[2] ?? '').replace(/\/+$/, ''), url.searchParams.get('recursive')?.toLowerCase() === 'true', expand);
        const pageSize = expand ? Math.min(treePageSize, 50) : treePageSize;
        const start = Number(url.searchParams.get('cursor') ?? '0');
        const page = all.slice(start, start + pageSize);
        const headers: Record<string, string> = {};
        if (start + pageSize < all.length) {
          const next = new URL(url);
          next.searchParams.set('cursor', String(start + pageSize));
          headers.Link = `<${next.toString()}>; rel="next"`;
        }
        return json(200, page, headers);
      }
      if ((r = /^paths-info\/([^/]+)$/.exec(rest)) && req.method === 'POST') {
        const commit = resolveRevision(repo, r[1]!);
        let paths: string[];
        let expand: boolean;
        if ((req.headers['content-type'] ?? '').includes('application/json')) {
          const b = parseJson() as { paths?: string[] | string; expand?: boolean };
          paths = ([] as string[]).concat(b.paths ?? []);
          expand = b.expand === true;
        } else {
          const form = new URLSearchParams(body.toString('utf8'));
          paths = form.getAll('paths');
          expand = (form.get('expand') ?? '').toLowerCase() === 'true';
        }
        const out: Record<string, unknown>[] = [];
        for (const p of paths.map((x) => x.replace(/\/+$/, ''))) {
          const entry = commit.tree.get(p);
          if (entry) out.push(entryJson(p, entry, commit, expand));
          else if ([...commit.tree.keys()].some((k) => k.startsWith(`${p}/`))) out.push({ type: 'directory', oid: sha1(`tree ${commit.id} ${p}`), size: 0, path: p });
        }
        return json(200, out);
      }
      throw new HttpError(404, `Not implemented by the mock hub: ${req.method} ${path}`);
    }
    if ((m = /^\/(?:(datasets)\/)?([^/]+\/[^/]+?)\.git\/info\/lfs\/objects\/batch$/.exec(path)) && req.method === 'POST') {
      const repo = getRepo(m[1] ? 'dataset' : 'model', m[2]!, auth);
      requireWrite(auth, repo.id);
      res.setHeader('X-Request-Id', sha1(String(requests.length)).slice(0, 12));
      return json(200, lfsBatch(parseJson() as never), { 'Content-Type': 'application/vnd.git-lfs+json' });
    }
    if ((m = /^\/lfs-upload\/([0-9a-f]{64})\/(\d+)(?:\/(part\/(\d+)|complete))?$/.exec(path))) {
      const [, oid, size] = m as unknown as [string, string, string];
      if (!m[3] && req.method === 'PUT') {
        storeLfs(oid, Number(size), body);
        return json(200, {});
      }
      if (m[4] && req.method === 'PUT') {
        const parts = multipartParts.get(oid) ?? new Map<number, Buffer>();
        parts.set(Number(m[4]), body);
        multipartParts.set(oid, parts);
        res.writeHead(200, { ETag: `"${createHash('md5').update(body).digest('hex')}"` }).end();
        return;
      }
      if (m[3] === 'complete' && req.method === 'POST') {
        const b = parseJson() as { oid?: string; parts?: { partNumber: number; etag: string }[] };
        const stored = multipartParts.get(oid);
        if (!stored || b.oid !== oid || !b.parts?.length) throw new HttpError(400, 'multipart completion without its parts');
        const chunks = b.parts.map(({ partNumber, etag }) => {
          const part = stored.get(partNumber);
          if (!part || etag !== `"${createHash('md5').update(part).digest('hex')}"`) throw new HttpError(400, `part ${partNumber}: missing or wrong ETag`);
          return part;
        });
        storeLfs(oid, Number(size), Buffer.concat(chunks));
        multipartParts.delete(oid);
        return json(200, {});
      }
    }
    if ((m = /^\/lfs-files\/([0-9a-f]{64})$/.exec(path)) && (req.method === 'GET' || req.method === 'HEAD')) {
      const object = lfsObjects.get(m[1]!);
      if (!object) throw new HttpError(404, 'no such LFS object');
      return serveBytes(req, res, object, { ETag: `"${m[1]}"` });
    }
    if ((m = /^\/(?:(datasets)\/)?([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path)) && (req.method === 'GET' || req.method === 'HEAD')) {
      const repo = getRepo(m[1] ? 'dataset' : 'model', m[2]!, auth);
      if (repo.gated && auth !== token) throw new HttpError(401, `Access to ${repo.type} ${repo.id} is restricted. You must have access to it and be authenticated to access it. Please log in.`, 'GatedRepo');
      const commit = resolveRevision(repo, m[3]!);
      const file = decodeURIComponent(m[4]!);
      const entry = commit.tree.get(file);
      if (!entry) throw new HttpError(404, `Entry not found: ${file}`, 'EntryNotFound');
      const headers: Record<string, string> = { 'X-Repo-Commit': commit.id };
      if (entry.lfsOid) {
        // huggingface.co sends LFS files from its CDN: a 302 whose own headers carry the content's sha256.
        res.writeHead(302, {
          ...headers,
          ETag: `"${entry.lfsOid}"`,
          'X-Linked-Etag': `"${entry.lfsOid}"`,
          'X-Linked-Size': String(entry.size),
          Location: `${cdnBase}/lfs-files/${entry.lfsOid}`,
          'Content-Length': '0',
        });
        res.end();
        return;
      }
      return serveBytes(req, res, entry.content!, { ...headers, ETag: `"${entry.blobOid}"` });
    }
    throw new HttpError(404, `Not implemented by the mock hub: ${req.method} ${path}`);
  }

  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks);
      res.on('finish', () => requests.push({ method: req.method ?? '', url: req.url ?? '', status: res.statusCode, bytesIn: body.length }));
      const target = `${req.url ?? ''}`;
      const fault = faults.find((f) => f.fired < (f.times ?? 1) && (!f.method || f.method === req.method) && (!f.path || f.path.test(target)));
      if (fault) {
        fault.fired++;
        fault.before?.();
        if (fault.status !== undefined) {
          res.writeHead(fault.status, { 'Content-Type': 'application/json', ...fault.headers }).end(JSON.stringify(fault.body ?? { error: `mock fault ${fault.status}` }));
          return;
        }
      }
      route(req, res, body).catch((error: unknown) => {
        if (res.headersSent) return void res.end();
        if (error instanceof HttpError) {
          res.writeHead(error.status, { 'Content-Type': 'application/json', ...(error.errorCode ? { 'X-Error-Code': error.errorCode } : {}) });
          res.end(JSON.stringify({ error: error.message }));
        } else {
          res.writeHead(500, { 'Content-Type': 'application/json' }).end(JSON.stringify({ error: String(error) }));
        }
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  cdnBase = `http://localhost:${(server.address() as AddressInfo).port}`;

  const toBuffer = (v: Uint8Array | string) => (typeof v === 'string' ? Buffer.from(v) : Buffer.from(v));
  const api: MockHub = {
    url: base,
    token,
    user,
    requests,
    inject(fault) {
      const entry = { ...fault, fired: 0 };
      faults.push(entry);
      return entry;
    },
    createRepo(id, { type = 'dataset', private: isPrivate = false, gated = false, files = {} } = {}) {
      if (repos.has(key(type, id))) throw new Error(`mock hub: ${type} ${id} exists`);
      const tree = new Map<string, TreeEntry>([['.gitattributes', storeEntry('.gitattributes', Buffer.from(GITATTRIBUTES))]]);
      for (const [p, c] of Object.entries(files)) tree.set(p, storeEntry(p, toBuffer(c)));
      const sha = makeCommit(null, tree, 'initial commit');
      repos.set(key(type, id), { type, id, private: isPrivate, gated, branches: new Map([['main', sha]]), tags: new Map(), createdAt: nextDate() });
      return sha;
    },
    commitFiles(id, files, { type = 'dataset', branch = 'main', title = 'commit by someone else', deletes = [] } = {}) {
      const repo = repos.get(key(type, id));
      if (!repo) throw new Error(`mock hub: no ${type} ${id}`);
      if (!repo.branches.has(branch)) repo.branches.set(branch, repo.branches.get('main')!);
      const tree = new Map(commits.get(repo.branches.get(branch)!)!.tree);
      for (const [p, c] of Object.entries(files)) tree.set(p, storeEntry(p, toBuffer(c)));
      for (const p of deletes) tree.delete(p);
      const sha = makeCommit(repo.branches.get(branch)!, tree, title);
      repo.branches.set(branch, sha);
      return sha;
    },
    head(id, revision = 'main', type = 'dataset') {
      const repo = repos.get(key(type, id));
      return repo?.branches.get(revision) ?? repo?.tags.get(revision);
    },
    file(id, path, revision = 'main', type = 'dataset') {
      const repo = repos.get(key(type, id));
      const commit = repo && commits.get(repo.branches.get(revision) ?? repo.tags.get(revision) ?? revision);
      const entry = commit?.tree.get(path);
      if (!entry) return undefined;
      return entry.lfsOid ? lfsObjects.get(entry.lfsOid) : entry.content;
    },
    paths(id, revision = 'main', type = 'dataset') {
      const repo = repos.get(key(type, id));
      const commit = repo && commits.get(repo.branches.get(revision) ?? repo.tags.get(revision) ?? revision);
      return commit ? [...commit.tree.keys()].sort() : [];
    },
    uploadRequests() {
      return requests.filter((r) => r.url.startsWith('/lfs-upload/') || /\/commit\/[^/]+$/.test(r.url.split('?')[0]!));
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      });
    },
  };
  return api;
}
