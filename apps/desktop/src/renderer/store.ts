// Renderer state: the core's AppState (fed only by validated bridge pushes) plus view state that
// never leaves the window (which tab and channel are open, form drafts).
import { create } from 'zustand';
import type { AppState, CallName, CallParams, CallResult, Result, StatePush } from '../shared/contract';
import { bridge } from './bridge';

export type View = 'comms' | 'compute' | 'editor' | 'settings' | 'identity';

export interface RendererState {
  app: AppState | null;
  view: View;
  selectedChannelId: string | null;
  /** Channel to select once it shows up (we only know its request key when we open it). */
  pendingChannel: { name: string; since: number } | null;
  lastError: string | null;
  apply(push: StatePush): void;
  setView(view: View): void;
  selectChannel(id: string | null): void;
  expectChannel(name: string): void;
  setError(message: string | null): void;
}

export const useStore = create<RendererState>()((set) => ({
  app: null,
  view: 'comms',
  selectedChannelId: null,
  pendingChannel: null,
  lastError: null,
  apply: (push) =>
    set((state) => {
      if (state.app === null) return state;
      const app = { ...state.app, [push.slice]: push.value } as AppState;
      let { selectedChannelId, pendingChannel } = state;
      if (push.slice === 'channels' && pendingChannel) {
        const found = [...push.value].reverse().find((c) => c.name === pendingChannel!.name);
        if (found) {
          selectedChannelId = found.id;
          pendingChannel = null;
        }
      }
      return { app, selectedChannelId, pendingChannel };
    }),
  setView: (view) => set({ view }),
  selectChannel: (selectedChannelId) => set({ selectedChannelId }),
  expectChannel: (name) => set({ pendingChannel: { name, since: Date.now() } }),
  setError: (lastError) => set({ lastError }),
}));

/** Starts listening before asking for the whole state, so no push is missed in between. */
export async function connectStore(): Promise<void> {
  const b = bridge();
  const early: StatePush[] = [];
  b.onState((push) => {
    if (useStore.getState().app === null) early.push(push);
    else useStore.getState().apply(push);
  });
  for (;;) {
    const initial = await b.call('app.getState', {});
    if (initial.ok) {
      useStore.setState({ app: initial.value });
      for (const push of early.splice(0)) useStore.getState().apply(push);
      return;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
}

/** Calls the core; failures land in lastError (shown as a banner) and are returned too. */
export async function call<N extends CallName>(name: N, params: CallParams<N>): Promise<Result<CallResult<N>>> {
  const result = await bridge().call(name, params);
  useStore.getState().setError(result.ok ? null : result.message);
  return result;
}
