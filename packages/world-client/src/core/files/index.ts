// Live editing of shared files: the FileSession engine, its transport interface, and the adapters
// to CodeMirror change sets and to the world client.
export { FileSession, type ChangeOrigin, type EditResult, type FileConflict, type FileSessionOptions, type FileSessionState } from './session';
export type { FileBatch, FileOpRecord, FileTransport, SendOutcome } from './transport';
export { applyOpsToText, applyChangesToText, textOf, type CharChange } from './text';
export { changesFromChangeSet, toChangeSpecs, type ChangeSetLike } from './codemirror';
export { openFileSession, WorldFileTransport, type WorldFileTarget } from './world-transport';
