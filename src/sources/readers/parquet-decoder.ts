/**
 * Parquet decoding on a worker thread (./parquet-decoder-worker.mjs). parquet-wasm traps on some damaged pages
 * (measured: random bytes over the pages of a real file behind its intact footer end in `RuntimeError:
 * unreachable` thrown from its async reader's own callback, beyond any promise), which in-process would end the
 * run with an internal error. On the worker it ends the thread: every pending request is refused with one line
 * naming the file, and the next request starts a fresh worker, so the other files of the run are still read.
 *
 * The worker is unreferenced while idle, so an open dataset never keeps the process alive.
 */
import { Worker } from 'node:worker_threads';

interface Pending {
  resolve(answer: WorkerAnswer): void;
  reject(error: Error): void;
}

interface WorkerAnswer {
  readonly schema?: Uint8Array;
  readonly rowGroups?: number[];
  readonly ipc?: Uint8Array;
}

export interface ParquetFooter {
  /** The Arrow schema, as an IPC stream. */
  readonly schemaIpc: Uint8Array;
  /** Rows per row group, as the footer claims them (not yet checked against the file's size). */
  readonly rowGroupRows: readonly number[];
}

const WORKER_URL = new URL('./parquet-decoder-worker.mjs', import.meta.url);

export class ParquetDecoder {
  private worker: Worker | null = null;
  private readonly pending = new Map<number, Pending>();
  private nextId = 0;

  /**
   * The footer of `path`. `bytes`: the file's content, when the caller has read (and hashed) it, so that what is
   * decoded is exactly what was hashed; the buffer is handed over to the worker.
   */
  async footer(path: string, bytes?: Uint8Array): Promise<ParquetFooter> {
    const answer = await this.ask({ op: 'open', path, bytes });
    return { schemaIpc: answer.schema!, rowGroupRows: answer.rowGroups! };
  }

  /** Columns of `path` (of one row group when given) as an Arrow IPC stream; `footer` first when it was given bytes. */
  async columns(path: string, columns: readonly string[], rowGroup?: number): Promise<Uint8Array> {
    const answer = await this.ask({ op: 'read', path, columns, rowGroup });
    return answer.ipc!;
  }

  /** Frees the worker's handle of `path`: a file handed over as bytes is held in the worker until then. */
  async forget(path: string): Promise<void> {
    if (this.worker) await this.ask({ op: 'forget', path });
  }

  /** Ends the worker; a later request starts a fresh one. */
  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = null;
    await worker?.terminate();
  }

  /** Rejects with a plain Error (the worker's message, or the crash); callers say which file and what was read. */
  private ask(request: { op: string; path: string; bytes?: Uint8Array; columns?: readonly string[]; rowGroup?: number }): Promise<WorkerAnswer> {
    const worker = this.started();
    const id = this.nextId++;
    return new Promise<WorkerAnswer>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      if (this.pending.size === 1) worker.ref();
      const bytes = request.bytes && ownBuffer(request.bytes);
      worker.postMessage({ id, ...request, bytes }, bytes ? [bytes.buffer as ArrayBuffer] : []);
    });
  }

  private started(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(WORKER_URL);
    worker.unref();
    worker.on('message', (answer: WorkerAnswer & { id: number; ok: boolean; message?: string }) => {
      const pending = this.settle(answer.id);
      if (!pending) return;
      if (answer.ok) pending.resolve(answer);
      else pending.reject(new Error(answer.message));
    });
    // A trap (or any uncaught error) ends the worker: every request it held is refused.
    const fail = (error: Error) => {
      if (this.worker !== worker) return;
      this.worker = null;
      for (const [id, pending] of [...this.pending]) {
        this.settle(id);
        pending.reject(new Error(`the Parquet decoder crashed on it (${error.message}): the file is damaged or crafted`));
      }
    };
    worker.on('error', fail);
    worker.on('exit', (code) => fail(new Error(`its thread exited with code ${code}`)));
    this.worker = worker;
    return worker;
  }

  private settle(id: number): Pending | undefined {
    const pending = this.pending.get(id);
    this.pending.delete(id);
    if (pending && this.pending.size === 0) this.worker?.unref();
    return pending;
  }
}

/** A view that is its whole ArrayBuffer, so handing the buffer over moves only these bytes (a Buffer may share Node's pool). */
function ownBuffer(bytes: Uint8Array): Uint8Array {
  return bytes.byteOffset === 0 && bytes.byteLength === bytes.buffer.byteLength && bytes.buffer instanceof ArrayBuffer ? bytes : bytes.slice();
}
