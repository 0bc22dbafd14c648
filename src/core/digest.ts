/**
 * sha256 digests: of bytes, and of files streamed in 1 MiB chunks so that a 500 MB shard or a 10 GB checkpoint
 * never sits in memory. Every file hash in advood goes through hashFileInto (the Hub's sha256 + git sha1 pair too).
 */
import { createHash, type Hash } from 'node:crypto';
import { createReadStream } from 'node:fs';

export interface FileDigest {
  sha256: string;
  size: number;
}

/** What hashFileInto feeds: one hash, or several fed from one read (the Hub's sha256 and git sha1). */
export interface HashSink {
  update(chunk: Buffer): unknown;
}

/** Feeds the file's bytes (the first `length` of them when given) into `hash`; returns the byte count. */
export async function hashFileInto(hash: HashSink, path: string, length?: number): Promise<number> {
  if (length === 0) return 0;
  let size = 0;
  const range = length === undefined ? {} : { start: 0, end: length - 1 };
  for await (const chunk of createReadStream(path, { ...range, highWaterMark: 1 << 20 })) {
    hash.update(chunk as Buffer);
    size += (chunk as Buffer).length;
  }
  return size;
}

export async function digestFile(path: string): Promise<FileDigest> {
  const hash = createHash('sha256');
  const size = await hashFileInto(hash, path);
  return { sha256: hash.digest('hex'), size };
}

/**
 * A running sha256 of the first `length` bytes of a file, left open so that hashing can go on with bytes
 * appended after them (a resumed part re-hashes its kept prefix this way).
 */
export async function sha256OfPrefix(path: string, length: number): Promise<Hash> {
  const hash = createHash('sha256');
  await hashFileInto(hash, path, length);
  return hash;
}

export function sha256Hex(bytes: Uint8Array | string): string {
  return createHash('sha256').update(bytes).digest('hex');
}
