/**
 * Per-sample scores as an Arrow IPC *file* (columns detector, set, sample_id: utf8; score: float64), so anyone
 * can recompute every metric: `pyarrow.ipc.open_file('scores.arrow').read_all()`. `set` is 'id' for the ID
 * test set, else the OOD set's name. Types are explicit: apache-arrow would otherwise dictionary-encode strings.
 */
import { Float64, Table, Utf8, tableFromIPC, tableToIPC, vectorFromArray } from 'apache-arrow';
import type { SampleScores } from '../metrics/evaluation-result.js';

export function scoresArrowBytes(scores: readonly SampleScores[]): Uint8Array {
  const detector: string[] = [];
  const set: string[] = [];
  const sampleId: string[] = [];
  const values: number[] = [];
  for (const block of scores) {
    for (let i = 0; i < block.ids.length; i++) {
      detector.push(block.detector);
      set.push(block.set);
      sampleId.push(block.ids[i]!);
      values.push(block.scores[i]!);
    }
  }
  const table = new Table({
    detector: vectorFromArray(detector, new Utf8()),
    set: vectorFromArray(set, new Utf8()),
    sample_id: vectorFromArray(sampleId, new Utf8()),
    score: vectorFromArray(values, new Float64()),
  });
  return tableToIPC(table, 'file');
}

/** Reads the file back into rows (for tests and for `advood` tools that recompute metrics). */
export function readScoresArrow(bytes: Uint8Array): { detector: string; set: string; sampleId: string; score: number }[] {
  const table = tableFromIPC(bytes);
  const out: { detector: string; set: string; sampleId: string; score: number }[] = [];
  const columns = ['detector', 'set', 'sample_id', 'score'].map((name) => table.getChild(name)!);
  for (let i = 0; i < table.numRows; i++) {
    out.push({
      detector: columns[0]!.get(i) as string,
      set: columns[1]!.get(i) as string,
      sampleId: columns[2]!.get(i) as string,
      score: columns[3]!.get(i) as number,
    });
  }
  return out;
}
