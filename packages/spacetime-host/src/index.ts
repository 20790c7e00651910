export { startHost, type StartHostOptions, type RunningHost } from './host';
export { ModuleHost, type CommitEvent, type CallOutcome } from './module/host';
export { bundleModule } from './module/bundle';
export { loadModuleCatalog } from './module/describe';
export type { Catalog, TableDef, ReducerDef, ViewDef } from './module/catalog';
export { MAX_MESSAGE_BYTES } from './server/server';
export { PROTOCOL_V2, PROTOCOL_V3 } from './server/server';
export { decodeServerMessages, encodeClientMessage, type ClientMessage, type ServerMessage } from './server/wire';
