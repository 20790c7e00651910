// The client protocol's messages (v2; v3 frames concatenate them), declared with the SDK's type
// builders so encoding and decoding agree with the `spacetimedb` client byte for byte.
// Special types (Identity, ConnectionId, Timestamp, TimeDuration) are their inner integers.
import { BinaryReader, BinaryWriter, t } from 'spacetimedb';
import { Reader, decodeValue, type SumValue } from '../sats/codec';
import type { Ty } from '../sats/types';

const QuerySetId = t.object('QuerySetId', { id: t.u32() });
const RowSizeHint = t.enum('RowSizeHint', { FixedSize: t.u16(), RowOffsets: t.array(t.u64()) });
const BsatnRowList = t.object('BsatnRowList', { sizeHint: RowSizeHint, rowsData: t.byteArray() });
const SingleTableRows = t.object('SingleTableRows', { table: t.string(), rows: BsatnRowList });
const QueryRows = t.object('QueryRows', { tables: t.array(SingleTableRows) });
const TableUpdateRows = t.enum('TableUpdateRows', {
  PersistentTable: t.object('PersistentTableRows', { inserts: BsatnRowList, deletes: BsatnRowList }),
  EventTable: t.object('EventTableRows', { events: BsatnRowList }),
});
const TableUpdate = t.object('TableUpdate', { tableName: t.string(), rows: t.array(TableUpdateRows) });
const QuerySetUpdate = t.object('QuerySetUpdate', { querySetId: QuerySetId, tables: t.array(TableUpdate) });
const TransactionUpdate = t.object('TransactionUpdate', { querySets: t.array(QuerySetUpdate) });

const ClientMessageT = t.enum('ClientMessage', {
  Subscribe: t.object('Subscribe', { requestId: t.u32(), querySetId: QuerySetId, queryStrings: t.array(t.string()) }),
  Unsubscribe: t.object('Unsubscribe', {
    requestId: t.u32(),
    querySetId: QuerySetId,
    flags: t.enum('UnsubscribeFlags', { Default: t.unit(), SendDroppedRows: t.unit() }),
  }),
  OneOffQuery: t.object('OneOffQuery', { requestId: t.u32(), queryString: t.string() }),
  CallReducer: t.object('CallReducer', { requestId: t.u32(), flags: t.u8(), reducer: t.string(), args: t.byteArray() }),
  CallProcedure: t.object('CallProcedure', { requestId: t.u32(), flags: t.u8(), procedure: t.string(), args: t.byteArray() }),
});

const ServerMessageT = t.enum('ServerMessage', {
  InitialConnection: t.object('InitialConnection', { identity: t.u256(), connectionId: t.u128(), token: t.string() }),
  SubscribeApplied: t.object('SubscribeApplied', { requestId: t.u32(), querySetId: QuerySetId, rows: QueryRows }),
  UnsubscribeApplied: t.object('UnsubscribeApplied', { requestId: t.u32(), querySetId: QuerySetId, rows: t.option(QueryRows) }),
  SubscriptionError: t.object('SubscriptionError', { requestId: t.option(t.u32()), querySetId: QuerySetId, error: t.string() }),
  TransactionUpdate,
  OneOffQueryResult: t.object('OneOffQueryResult', {
    requestId: t.u32(),
    result: t.enum('OneOffResult', { Ok: QueryRows, Err: t.string() }),
  }),
  ReducerResult: t.object('ReducerResult', {
    requestId: t.u32(),
    timestamp: t.i64(),
    result: t.enum('ReducerOutcome', {
      Ok: t.object('ReducerOk', { retValue: t.byteArray(), transactionUpdate: TransactionUpdate }),
      OkEmpty: t.unit(),
      Err: t.byteArray(),
      InternalError: t.string(),
    }),
  }),
  ProcedureResult: t.object('ProcedureResult', {
    status: t.enum('ProcedureStatus', { Returned: t.byteArray(), InternalError: t.string() }),
    timestamp: t.i64(),
    totalHostExecutionDuration: t.i64(),
    requestId: t.u32(),
  }),
});

export interface BsatnRowListV {
  sizeHint: { tag: 'FixedSize'; value: number } | { tag: 'RowOffsets'; value: bigint[] };
  rowsData: Uint8Array;
}
export interface SingleTableRowsV {
  table: string;
  rows: BsatnRowListV;
}
export interface QueryRowsV {
  tables: SingleTableRowsV[];
}
export type TableUpdateRowsV =
  | { tag: 'PersistentTable'; value: { inserts: BsatnRowListV; deletes: BsatnRowListV } }
  | { tag: 'EventTable'; value: { events: BsatnRowListV } };
export interface TableUpdateV {
  tableName: string;
  rows: TableUpdateRowsV[];
}
export interface QuerySetUpdateV {
  querySetId: { id: number };
  tables: TableUpdateV[];
}

export type ClientMessage =
  | { tag: 'Subscribe'; value: { requestId: number; querySetId: { id: number }; queryStrings: string[] } }
  | { tag: 'Unsubscribe'; value: { requestId: number; querySetId: { id: number }; flags: { tag: 'Default' | 'SendDroppedRows' } } }
  | { tag: 'OneOffQuery'; value: { requestId: number; queryString: string } }
  | { tag: 'CallReducer'; value: { requestId: number; flags: number; reducer: string; args: Uint8Array } }
  | { tag: 'CallProcedure'; value: { requestId: number; flags: number; procedure: string; args: Uint8Array } };

export type ServerMessage =
  | { tag: 'InitialConnection'; value: { identity: bigint; connectionId: bigint; token: string } }
  | { tag: 'SubscribeApplied'; value: { requestId: number; querySetId: { id: number }; rows: QueryRowsV } }
  | { tag: 'UnsubscribeApplied'; value: { requestId: number; querySetId: { id: number }; rows: QueryRowsV | undefined } }
  | { tag: 'SubscriptionError'; value: { requestId: number | undefined; querySetId: { id: number }; error: string } }
  | { tag: 'TransactionUpdate'; value: { querySets: QuerySetUpdateV[] } }
  | { tag: 'OneOffQueryResult'; value: { requestId: number; result: { tag: 'Ok'; value: QueryRowsV } | { tag: 'Err'; value: string } } }
  | {
      tag: 'ReducerResult';
      value: {
        requestId: number;
        timestamp: bigint;
        result:
          | { tag: 'Ok'; value: { retValue: Uint8Array; transactionUpdate: { querySets: QuerySetUpdateV[] } } }
          | { tag: 'OkEmpty'; value: Record<string, never> }
          | { tag: 'Err'; value: Uint8Array }
          | { tag: 'InternalError'; value: string };
      };
    }
  | {
      tag: 'ProcedureResult';
      value: {
        status: { tag: 'Returned'; value: Uint8Array } | { tag: 'InternalError'; value: string };
        timestamp: bigint;
        totalHostExecutionDuration: bigint;
        requestId: number;
      };
    };

// One writer for every server message: encoding is synchronous, so it is never shared by two
// messages at once, and a fresh 1 KiB buffer per message was most of the host's garbage under fan-out.
const serverWriter = new BinaryWriter(64 * 1024);

export function encodeServerMessage(msg: ServerMessage): Uint8Array {
  serverWriter.clear();
  (ServerMessageT as any).serialize(serverWriter, msg);
  return serverWriter.getBuffer().slice();
}

/**
 * A whole uncompressed WebSocket frame for one message: the compression tag 0, then the message.
 * The same bytes can be sent to every connection whose message is identical.
 */
export function encodeUncompressedFrame(msg: ServerMessage): Uint8Array {
  serverWriter.clear();
  serverWriter.writeU8(0);
  (ServerMessageT as any).serialize(serverWriter, msg);
  return serverWriter.getBuffer().slice();
}

/** Every message of one (uncompressed) frame payload: one for v2, one or more back to back for v3. */
export function decodeServerMessages(payload: Uint8Array, protocol: 'v2' | 'v3'): ServerMessage[] {
  const reader = new BinaryReader(payload);
  const out: ServerMessage[] = [];
  do out.push((ServerMessageT as any).deserialize(reader) as ServerMessage);
  while (protocol === 'v3' && reader.remaining > 0);
  if (reader.remaining > 0) throw new Error(`${reader.remaining} trailing bytes after a v2 server message`);
  return out;
}

export function decodeServerMessage(bytes: Uint8Array): ServerMessage {
  return (ServerMessageT as any).deserialize(new BinaryReader(bytes)) as ServerMessage;
}

// Client frames are decoded with the host's strict codec (the SDK's deserializer maps an
// unknown sum tag to `undefined` and accepts malformed UTF-8), so any malformed input is an error.
const U32: Ty = { kind: 'U32' };
const UNIT: Ty = { kind: 'Product', elements: [] };
const STRING: Ty = { kind: 'String' };
const BYTES: Ty = { kind: 'Array', elem: { kind: 'U8' } };
const QUERY_SET_ID: Ty = { kind: 'Product', elements: [{ name: 'id', ty: U32 }] };
const field = (ty: Ty) => ({ name: undefined, ty });
const CALL: Ty = { kind: 'Product', elements: [field(U32), field({ kind: 'U8' }), field(STRING), field(BYTES)] };
const CLIENT_MESSAGE_TY: Ty = {
  kind: 'Sum',
  variants: [
    { name: 'Subscribe', ty: { kind: 'Product', elements: [field(U32), field(QUERY_SET_ID), field({ kind: 'Array', elem: STRING })] } },
    {
      name: 'Unsubscribe',
      ty: { kind: 'Product', elements: [field(U32), field(QUERY_SET_ID), field({ kind: 'Sum', variants: [{ name: 'Default', ty: UNIT }, { name: 'SendDroppedRows', ty: UNIT }] })] },
    },
    { name: 'OneOffQuery', ty: { kind: 'Product', elements: [field(U32), field(STRING)] } },
    { name: 'CallReducer', ty: CALL },
    { name: 'CallProcedure', ty: CALL },
  ],
};

function toClientMessage(v: SumValue): ClientMessage {
  const f = v.value as any[];
  switch (v.tag) {
    case 0:
      return { tag: 'Subscribe', value: { requestId: f[0], querySetId: { id: f[1][0] }, queryStrings: f[2] } };
    case 1:
      return {
        tag: 'Unsubscribe',
        value: { requestId: f[0], querySetId: { id: f[1][0] }, flags: { tag: (f[2] as SumValue).tag === 1 ? 'SendDroppedRows' : 'Default' } },
      };
    case 2:
      return { tag: 'OneOffQuery', value: { requestId: f[0], queryString: f[1] } };
    case 3:
      return { tag: 'CallReducer', value: { requestId: f[0], flags: f[1], reducer: f[2], args: f[3] } };
    default:
      return { tag: 'CallProcedure', value: { requestId: f[0], flags: f[1], procedure: f[2], args: f[3] } };
  }
}

/** Decode every ClientMessage in a frame: v2 carries exactly one, v3 one or more back to back. */
export function decodeClientFrame(bytes: Uint8Array, protocol: 'v2' | 'v3'): ClientMessage[] {
  if (bytes.length === 0) throw new Error('empty frame: a frame must contain at least one message');
  const reader = new Reader(bytes);
  const out: ClientMessage[] = [];
  while (reader.remaining > 0) {
    out.push(toClientMessage(decodeValue(CLIENT_MESSAGE_TY, reader) as SumValue));
    if (protocol === 'v2') break;
  }
  if (reader.remaining > 0) throw new Error(`${reader.remaining} trailing bytes after the message`);
  return out;
}

export function encodeClientMessage(msg: ClientMessage): Uint8Array {
  const w = new BinaryWriter(256);
  (ClientMessageT as any).serialize(w, msg);
  return w.getBuffer().slice();
}

export function rowList(rows: { bytes: Uint8Array }[]): BsatnRowListV {
  let total = 0;
  for (const r of rows) total += r.bytes.length;
  const data = new Uint8Array(total);
  const offsets: bigint[] = new Array(rows.length);
  let at = 0;
  rows.forEach((r, i) => {
    offsets[i] = BigInt(at);
    data.set(r.bytes, at);
    at += r.bytes.length;
  });
  return { sizeHint: { tag: 'RowOffsets', value: offsets }, rowsData: data };
}

export function encodeString(s: string): Uint8Array {
  const w = new BinaryWriter(s.length + 8);
  w.writeString(s);
  return w.getBuffer().slice();
}
