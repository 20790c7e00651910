export interface StoredRow {
  /** Monotonic per datastore: table scans iterate in insertion order, index ties by id. */
  id: number;
  bytes: Uint8Array;
  value: unknown[];
  /** The row's bytes as a latin1 string: identity of the row for set semantics. */
  key: string;
}

export const bytesKey = (b: Uint8Array): string => Buffer.from(b.buffer, b.byteOffset, b.byteLength).toString('latin1');
