// The renderer's only way out: window.autopilot, put there by the Electron preload or by the
// web-mode bridge shim. Both validate what comes back against the shared contract.
import type { AutopilotBridge } from '../shared/contract';

declare global {
  interface Window {
    autopilot?: AutopilotBridge;
  }
}

export function bridge(): AutopilotBridge {
  const found = window.autopilot;
  if (!found) throw new Error('window.autopilot is missing: the app must run inside Electron or web mode');
  return found;
}
