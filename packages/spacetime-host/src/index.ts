export { startHost, type StartHostOptions, type RunningHost } from './host';
export { ModuleHost, type CommitEvent, type CallOutcome } from './module/host';
export { bundleModule } from './module/bundle';
export { loadModuleCatalog } from './module/describe';
export type { Catalog, TableDef, ReducerDef, ViewDef } from './module/catalog';
export { MAX_MESSAGE_BYTES } from './server/server';
