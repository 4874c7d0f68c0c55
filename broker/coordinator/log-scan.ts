// Reading a coordinator's internal topic partition back at load time (`__consumer_offsets`,
// `__transaction_state`): every stored batch from the log start up to an end offset, in log
// order, read in chunks of `maxBytes` (offsets.load.buffer.size / transaction.state.log.load.buffer.size).
import { batchSize, LOG_OVERHEAD, readBatchHeader, type BatchHeader } from '../../wire/record-batch.js';

/** What loading needs from a partition's log (a PartitionLog satisfies it). */
export interface ReadableLog {
  readonly logStartOffset: number;
  read(startOffset: number, maxBytes: number, maxOffsetExclusive: number, minOneBatch: boolean): Promise<{ records: Buffer; error: string | null }>;
}

/**
 * Calls `onBatch` for every batch whose last offset is at or after the log start, up to
 * `endOffset` (exclusive), in order. `onBatch` gets the buffer holding the batch at `pos` and the
 * first offset of the batch still wanted (records below it were seen already). It may throw to
 * abort the load. Returns the number of batches seen.
 */
export async function scanLog(
  log: ReadableLog,
  endOffset: number,
  maxBytes: number,
  onBatch: (buf: Buffer, pos: number, header: BatchHeader, fromOffset: number) => void,
  what = 'log',
): Promise<number> {
  let offset = log.logStartOffset;
  let batches = 0;
  while (offset < endOffset) {
    const r = await log.read(offset, maxBytes, endOffset, true);
    if (r.error !== null) throw new Error(`reading ${what} at ${offset}: ${r.error}`);
    const buf = r.records;
    if (buf.length === 0) break;
    let pos = 0;
    let progressed = false;
    while (pos + LOG_OVERHEAD <= buf.length) {
      const size = batchSize(buf, pos);
      if (pos + size > buf.length) break;
      const header = readBatchHeader(buf, pos);
      const last = header.baseOffset + header.lastOffsetDelta;
      if (last >= offset) {
        batches++;
        onBatch(buf, pos, header, offset);
        offset = last + 1;
        progressed = true;
      }
      pos += size;
    }
    if (!progressed) break;
  }
  return batches;
}
