/**
 * src/core/untrusted-names.ts: names from outside (Hub headers and listings, revisions, paths inside dataset rows)
 * are checked part by part, and a place built from them is proven to stay inside its root after symlinks.
 */
import test from 'ava';
import { mkdirSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { UserError } from '../../src/core/errors.js';
import { assertInside, checkCommitSha, checkRelativePath, checkRevision, resolveInside } from '../../src/core/untrusted-names.js';

const root = mkdtempSync(join(tmpdir(), 'advood-names-'));
test.after.always(() => rmSync(root, { recursive: true, force: true }));

test('a commit id is 40 lowercase hex digits and nothing else', (t) => {
  t.is(checkCommitSha('a'.repeat(40), 'X-Repo-Commit'), 'a'.repeat(40));
  for (const bad of ['../../home', 'A'.repeat(40), 'a'.repeat(39), `${'a'.repeat(40)}/x`, 42]) {
    t.throws(() => checkCommitSha(bad, 'X-Repo-Commit'), { instanceOf: UserError, message: /^X-Repo-Commit: .* is not a 40-hex commit id$/ });
  }
});

test('relative paths from outside: every kind of escape is one line naming the source', (t) => {
  t.deepEqual(checkRelativePath('data/train-00000.parquet', 'listing'), ['data', 'train-00000.parquet']);
  const cases: [string, RegExp][] = [
    ['../x', /'\.' or '\.\.' part/],
    ['a/../../x', /'\.' or '\.\.' part/],
    ['./a', /'\.' or '\.\.' part/],
    ['/etc/passwd', /is absolute/],
    ['C:/x', /is absolute/],
    ['a\\..\\x', /backslash/],
    ['a\u0000b', /NUL or control/],
    ['a//b', /empty part/],
    ['a/', /empty part/],
    ['', /non-empty string/],
  ];
  for (const [value, reason] of cases) t.throws(() => checkRelativePath(value, 'listing of org/x'), { instanceOf: UserError, message: reason }, JSON.stringify(value));
  // NUL prints escaped, never raw.
  t.throws(() => checkRelativePath('a\u0000b', 'listing'), { message: 'listing: path "a\\u0000b" holds a NUL or control character' });
});

test("revisions follow git's ref-name rules, which also makes them safe under refs/", (t) => {
  for (const ok of ['main', 'v1.0', 'refs/pr/3', 'refs/convert/parquet', 'feature/x-y_z', 'a'.repeat(40)]) t.is(checkRevision(ok, 'rev'), ok);
  for (const bad of ['..', '../../etc', 'a/../b', '/main', 'main/', 'a//b', '.hidden', 'a/.b', 'x.lock', 'a b', 'a~1', 'a^', 'a:b', 'a?', 'a*', 'a[', 'a\\b', 'a@{1}', '@', 'end.', 'a\u0000', '', 'x'.repeat(256)]) {
    t.throws(() => checkRevision(bad, 'hf://datasets/o/n'), { instanceOf: UserError, message: /^hf:\/\/datasets\/o\/n: / }, JSON.stringify(bad));
  }
});

test('resolveInside refuses a place that a symlink inside the root leads outside, also through a dangling link', (t) => {
  const cache = join(root, 'cache');
  const outside = join(root, 'outside');
  mkdirSync(join(cache, 'snapshots'), { recursive: true });
  mkdirSync(outside, { recursive: true });
  t.is(resolveInside(cache, 'snapshots/abc/file.txt', 'w'), join(cache, 'snapshots', 'abc', 'file.txt'));
  symlinkSync(outside, join(cache, 'snapshots', 'evil'));
  t.throws(() => resolveInside(cache, 'snapshots/evil/file.txt', 'write'), { instanceOf: UserError, message: /would lead outside/ });
  symlinkSync(join(outside, 'not-yet', 'bashrc'), join(cache, 'dangling'));
  t.throws(() => assertInside(cache, join(cache, 'dangling'), 'write'), { instanceOf: UserError, message: /would lead outside/ });
  // A link that stays inside is fine.
  symlinkSync(join(cache, 'snapshots'), join(cache, 'alias'));
  t.notThrows(() => resolveInside(cache, 'alias/x', 'read'));
  // A root that is itself reached through a symlink still contains its own files.
  symlinkSync(cache, join(root, 'cache-link'));
  t.notThrows(() => resolveInside(join(root, 'cache-link'), 'snapshots/abc', 'read'));
});
