/**
 * Arrow IPC *stream* format in pieces, so a shard can be written batch by batch with plain appends and fsyncs:
 * a stream is the schema message, then one message per record batch, then the end-of-stream marker
 * (continuation 0xFFFFFFFF + length 0). apache-arrow's writer only hands out bytes for a whole stream, so each
 * batch is serialised as a one-batch stream and the message between the schema prefix and the marker is kept.
 * Only dictionary-free schemas are used, so a batch message never depends on earlier ones.
 */
import { type RecordBatch, RecordBatchStreamWriter, type Schema } from 'apache-arrow';

export const STREAM_END_OF_STREAM = Uint8Array.of(0xff, 0xff, 0xff, 0xff, 0, 0, 0, 0);

export function streamSchemaMessage(schema: Schema): Uint8Array {
  const writer = new RecordBatchStreamWriter();
  writer.reset(undefined, schema);
  return writer.toUint8Array(true);
}

export function streamBatchMessage(batch: RecordBatch, schemaMessage: Uint8Array): Uint8Array {
  const whole = RecordBatchStreamWriter.writeAll([batch]).toUint8Array(true);
  const end = whole.length - STREAM_END_OF_STREAM.length;
  if (!bytesEqual(whole.subarray(0, schemaMessage.length), schemaMessage) || !bytesEqual(whole.subarray(end), STREAM_END_OF_STREAM)) {
    // Would mean apache-arrow changed its framing; writing on would corrupt the shard.
    throw new Error('Arrow stream framing changed: the batch stream does not start with the schema message');
  }
  return whole.subarray(schemaMessage.length, end);
}

function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && Buffer.from(a.buffer, a.byteOffset, a.length).equals(Buffer.from(b.buffer, b.byteOffset, b.length));
}
