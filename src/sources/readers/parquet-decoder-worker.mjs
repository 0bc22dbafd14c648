// The worker side of src/sources/readers/parquet-decoder.ts: parquet-wasm runs here, on a thread of its own, because a
// crafted or damaged file can make it trap (a Rust panic, `RuntimeError: unreachable`) inside its async reader,
// where the trap escapes every promise as an uncaught exception and would end the whole process. Here it ends
// only this thread, and the parent names the file. Plain JavaScript so it starts without the TypeScript loader
// (worker threads of Node 20 do not inherit loader hooks registered in the parent).
import { openAsBlob } from 'node:fs';
import { parentPort } from 'node:worker_threads';
import { ParquetFile } from 'parquet-wasm/node';

/** path → ParquetFile, opened once per worker; a respawned worker reopens on first use. */
const files = new Map();

/** `bytes`: the file's content as the parent read (and hashed) it; else the file is read from `path`. */
async function fileAt(path, bytes) {
  let file = files.get(path);
  if (!file) {
    file = await ParquetFile.fromFile(bytes ? new Blob([bytes]) : await openAsBlob(path));
    files.set(path, file);
  }
  return file;
}

/** Footer facts: the Arrow schema as an IPC stream, and the rows of each row group. */
async function open({ path, bytes }) {
  const file = await fileAt(path, bytes);
  let schema;
  try {
    schema = file.schema().intoIPCStream();
  } catch (error) {
    throw new Error(`its schema: ${messageOf(error)}`);
  }
  let rowGroups;
  try {
    rowGroups = file.metadata().rowGroups().map((group) => group.numRows());
  } catch (error) {
    throw new Error(`its footer: ${messageOf(error)}`);
  }
  return { schema, rowGroups };
}

/** Some columns, of the whole file or of one row group, as an Arrow IPC stream. */
async function read({ path, columns, rowGroup }) {
  const file = await fileAt(path);
  const table = await file.read({ columns, ...(rowGroup === undefined ? {} : { rowGroups: [rowGroup] }) });
  return { ipc: table.intoIPCStream() };
}

/** Frees a file's handle (and, for a file handed over as bytes, those bytes). */
async function forget({ path }) {
  files.get(path)?.free();
  files.delete(path);
  return {};
}

function messageOf(error) {
  return error instanceof Error ? error.message : String(error);
}

parentPort.on('message', async (request) => {
  try {
    const answer = request.op === 'open' ? await open(request) : request.op === 'forget' ? await forget(request) : await read(request);
    const buffers = Object.values(answer).filter((value) => value instanceof Uint8Array).map((bytes) => bytes.buffer);
    parentPort.postMessage({ id: request.id, ok: true, ...answer }, buffers);
  } catch (error) {
    parentPort.postMessage({ id: request.id, ok: false, message: messageOf(error) });
  }
});
