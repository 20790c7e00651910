// Node-only adapters of the world client: files, undici, pino, and the autopilot-node runner.
export { FileKeystoreStorage, FileOutboxStorage } from './file-storage';
export { NodeWebSocket, nodeFetch } from './websocket';
export { createNodeLogger } from './logger';
export { loadOrCreateNodeIdentities, type KeystoreOptions, type NodeIdentity } from './identity';
export { parseWorldUrl, startAutopilotNodes, type RunningNodes, type StartNodesOptions } from './run';
export { DEV_PASSPHRASE, loadNodeConfig, parseCli, runCli, USAGE, type CliOptions, type ParsedCli } from './cli';
