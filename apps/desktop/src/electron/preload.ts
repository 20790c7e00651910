// The preload: exposes window.autopilot (the bridge contract) and nothing else. No Node API and
// no ipcRenderer reaches the page; every answer and push is validated before the page sees it.
import { contextBridge, ipcRenderer } from 'electron';
import { IPC_CALL, IPC_STATE, StatePush, parseResult, type AutopilotBridge } from '../shared/contract';

const bridge: AutopilotBridge = {
  async call(name, params) {
    return parseResult(name, await ipcRenderer.invoke(IPC_CALL, name, params));
  },
  onState(listener) {
    const handler = (_event: unknown, raw: unknown) => {
      const push = StatePush.safeParse(raw);
      if (push.success) listener(push.data);
    };
    ipcRenderer.on(IPC_STATE, handler);
    return () => {
      ipcRenderer.removeListener(IPC_STATE, handler);
    };
  },
};

contextBridge.exposeInMainWorld('autopilot', bridge);
