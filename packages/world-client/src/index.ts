// @autopilot/world-client: the typed, resilient client of the Agent World (runs anywhere).
// Node-only adapters (file storage, the undici WebSocket, the autopilot-node CLI): "@autopilot/world-client/node".
export * from './core/index';
