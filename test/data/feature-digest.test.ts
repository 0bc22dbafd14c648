import { createHash } from 'node:crypto';
import test from 'ava';
import { featureContentSha256, type FeatureFile } from '../../src/data/feature-file.js';

/** The digest as one JSON string and one view of the vectors: what files written before the slicing carry. */
function wholeDigest(file: FeatureFile): string {
  const { ids, labels, sourcePaths, sourceSha256, classNames, provenance, failures, dim } = file;
  return createHash('sha256')
    .update(JSON.stringify({ ids, labels: Array.from(labels), sourcePaths, sourceSha256, classNames, provenance, failures, dim }))
    .update(new Uint8Array(file.vectors.buffer, file.vectors.byteOffset, file.vectors.byteLength))
    .digest('hex');
}

test('the sliced content digest equals the whole-string digest, across slice boundaries and non-ASCII ids', (t) => {
  const rows = 40_000; // more than two slices of the columns
  const ids = Array.from({ length: rows }, (_, i) => (i % 7 === 0 ? `Bäckerei/😀"${i}` : `img/${i}`));
  const file: FeatureFile = {
    ids,
    labels: Int32Array.from({ length: rows }, (_, i) => (i % 5 === 0 ? -1 : i % 3)),
    classNames: ['a', 'b', 'c'],
    dim: 2,
    vectors: Float32Array.from({ length: rows * 2 }, (_, i) => Math.sin(i)),
    sourcePaths: ids.map((id) => `/data/${id}`),
    sourceSha256: ids.map((_, i) => (i % 16).toString(16).repeat(64)),
    provenance: { encoderId: 'e', weightsSha256: 'w', kind: 'pre-projection', preprocess: { mode: 'clip', size: 32, background: [0, 0, 0] }, sourceName: 's', sourceFingerprint: 'f' },
    failures: [{ id: 'x', origin: '/data/x', reason: 'bad' }],
  } as FeatureFile;
  t.is(featureContentSha256(file), wholeDigest(file));
  const empty = { ...file, ids: [], labels: new Int32Array(0), vectors: new Float32Array(0), sourcePaths: [], sourceSha256: [] };
  t.is(featureContentSha256(empty), wholeDigest(empty));
});
