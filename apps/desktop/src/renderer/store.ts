// Renderer state: the core's AppState (fed only by validated bridge pushes) plus view state that
// never leaves the window (which tab and channel are open, form drafts). Components below App's
// loaded gate read the core's state through useApp, which never sees the null before the first load.
import { create } from 'zustand';
import type { AppState, CallName, CallParams, CallResult, Result, StatePush } from '../shared/contract';
import { bridge } from './bridge';

export type View = 'comms' | 'compute' | 'editor' | 'settings' | 'identity';

export interface RendererState {
  app: AppState | null;
  view: View;
  selectedChannelId: string | null;
  /** Key of a channel we opened, to select once it shows up (`channels.open` answers before the row may arrive). */
  pendingChannelKey: string | null;
  lastError: string | null;
  apply(push: StatePush): void;
  setView(view: View): void;
  selectChannel(id: string | null): void;
  expectChannel(key: string): void;
  setError(message: string | null): void;
}

export const useStore = create<RendererState>()((set) => ({
  app: null,
  view: 'comms',
  selectedChannelId: null,
  pendingChannelKey: null,
  lastError: null,
  apply: (push) =>
    set((state) => {
      if (state.app === null) return state;
      const app = { ...state.app, [push.slice]: push.value } as AppState;
      const found = push.slice === 'channels' && state.pendingChannelKey !== null ? push.value.find((c) => c.idempotencyKey === state.pendingChannelKey) : undefined;
      return found ? { app, selectedChannelId: found.id, pendingChannelKey: null } : { app };
    }),
  setView: (view) => set({ view }),
  selectChannel: (selectedChannelId) => set({ selectedChannelId }),
  expectChannel: (key) =>
    set((state) => {
      const found = state.app?.channels.find((c) => c.idempotencyKey === key);
      return found ? { selectedChannelId: found.id, pendingChannelKey: null } : { pendingChannelKey: key };
    }),
  setError: (lastError) => set({ lastError }),
}));

/**
 * The core's state for components below App's loaded gate (it renders them only once `app` is set),
 * so they never handle the null the store starts with.
 */
export function useApp<T>(select: (app: AppState) => T): T {
  return useStore((s) => {
    if (s.app === null) throw new Error('useApp is only for components rendered below the loaded gate');
    return select(s.app);
  });
}

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
