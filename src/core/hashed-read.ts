/**
 * One read of a file that is both decoded and hashed: the chunks handed to a decoder are the chunks fed to
 * sha256, so the digest names exactly the bytes that were decoded. Hashing in a second read would not: the
 * file can change between the two (a shard swapped after it was verified).
 */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { sha256Hex, type FileDigest } from './digest.js';

export interface HashedRead {
  /** The file's bytes in order, each chunk hashed as it is handed out. Iterate it once. */
  readonly chunks: AsyncIterable<Uint8Array>;
  /** Hashes whatever the decoder left unread (bytes after an end marker), closes the file, and returns the digest of all of it. */
  finish(): Promise<FileDigest>;
  /** Closes the file without a digest (the reader stopped early). */
  close(): void;
}

export function openHashedRead(path: string): HashedRead {
  const stream = createReadStream(path, { highWaterMark: 1 << 20 });
  const file = stream[Symbol.asyncIterator]() as AsyncIterator<Buffer>;
  const hash = createHash('sha256');
  let size = 0;
  let ended = false;
  const pull = async (): Promise<Buffer | null> => {
    if (ended) return null;
    const step = await file.next();
    if (step.done) {
      ended = true;
      return null;
    }
    hash.update(step.value);
    size += step.value.length;
    return step.value;
  };
  const chunks: AsyncIterable<Uint8Array> = {
    [Symbol.asyncIterator]: () => ({
      async next(): Promise<IteratorResult<Uint8Array>> {
        const chunk = await pull();
        return chunk ? { value: chunk, done: false } : { value: undefined, done: true };
      },
      // A decoder returns its iterator once it has what it wants; the file stays open so finish() hashes the rest.
      async return(): Promise<IteratorResult<Uint8Array>> {
        return { value: undefined, done: true };
      },
    }),
  };
  return {
    chunks,
    async finish() {
      while ((await pull()) !== null);
      return { sha256: hash.digest('hex'), size };
    },
    close() {
      stream.destroy();
    },
  };
}

/** A small file read whole, with the digest of exactly those bytes. */
export async function readHashed(path: string): Promise<{ bytes: Buffer } & FileDigest> {
  const bytes = await readFile(path);
  return { bytes, sha256: sha256Hex(bytes), size: bytes.length };
}
