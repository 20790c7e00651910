import { describe, expect, it } from 'vitest';
import { NostrSupplemental, SpacetimePrimary, TransportSelector, type CommsTransport, type OutboxEntry, type Readiness } from '../../src/index';

const entry = (kind: string): OutboxEntry => ({ key: `k-${kind}`, kind, args: null, enqueuedAt: 0, attempts: 0 });

/** A stand-in lane with switchable readiness, as the Nostr issue's lane will plug in. */
function lane(name: 'nostr', ready: Readiness) {
  let readiness = ready;
  const listeners = new Set<() => void>();
  const delivered: string[] = [];
  const transport: CommsTransport = {
    name,
    readiness: () => readiness,
    onReadinessChange: (listener) => {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },
    carries: (kind) => kind === 'publish_message',
    deliver: async (e) => {
      delivered.push(e.key);
      return { ok: true };
    },
  };
  return { transport, delivered, set: (next: Readiness) => ((readiness = next), listeners.forEach((l) => l())) };
}

describe('TransportSelector', () => {
  it('uses the primary when it is up, holds when it is down and policy forbids a fallback, and audits every switch', async () => {
    let up = false;
    const sent: string[] = [];
    const primary = new SpacetimePrimary({
      readiness: () => (up ? { ready: true } : { ready: false, reason: 'reconnecting: connection closed' }),
      deliver: async (e) => (sent.push(e.key), { ok: true }),
    });
    let now = 100;
    const selector = new TransportSelector({ primary, clock: { now: () => now } });
    expect(selector.lane).toBe('hold');
    expect(await selector.deliver(entry('publish_message'))).toMatchObject({ ok: false, retry: true, code: 'held' });

    up = true;
    now = 200;
    primary.readinessChanged();
    expect(selector.lane).toBe('spacetime');
    expect(await selector.deliver(entry('ack_message'))).toEqual({ ok: true });
    expect(sent).toEqual(['k-ack_message']);

    up = false;
    now = 300;
    primary.readinessChanged();
    expect(selector.lane).toBe('hold');
    expect(selector.reason).toBe('primary unavailable (reconnecting: connection closed); policy does not allow a Nostr fallback');
    expect(selector.audit().map(({ atMs, from, to, trigger }) => ({ atMs, from, to, trigger }))).toEqual([
      { atMs: 200, from: 'hold', to: 'spacetime', trigger: 'primary readiness changed' },
      { atMs: 300, from: 'spacetime', to: 'hold', trigger: 'primary readiness changed' },
    ]);
  });

  it('falls back to a ready Nostr lane only when the policy allows it, and only for what that lane carries', async () => {
    const primary = new SpacetimePrimary({ readiness: () => ({ ready: false, reason: 'offline' }), deliver: async () => ({ ok: true }) });
    const nostr = lane('nostr', { ready: false, reason: 'no relay connected' });
    const switches: string[] = [];
    const selector = new TransportSelector({ primary, supplemental: nostr.transport });
    selector.onSwitch((change) => switches.push(`${change.from}->${change.to}: ${change.reason}`));

    selector.setPolicy({ primary: 'spacetime', nostr: { fallbackAllowed: true, mirrorAllowed: false, relays: ['wss://relay.example'] } });
    expect(selector.lane).toBe('hold');
    expect(selector.reason).toBe('primary unavailable (offline); Nostr lane not ready (no relay connected)');

    nostr.set({ ready: true });
    expect(selector.lane).toBe('nostr');
    expect(await selector.deliver(entry('publish_message'))).toEqual({ ok: true });
    expect(await selector.deliver(entry('apply_file_ops'))).toMatchObject({ ok: false, retry: true, code: 'held' });
    expect(nostr.delivered).toEqual(['k-publish_message']);

    selector.setPolicy({ primary: 'spacetime', nostr: { fallbackAllowed: false, mirrorAllowed: false, relays: [] } }, 'policy revoked');
    expect(selector.lane).toBe('hold');
    expect(switches).toEqual([
      'hold->nostr: primary unavailable (offline); policy allows the Nostr fallback',
      'nostr->hold: primary unavailable (offline); policy does not allow a Nostr fallback',
    ]);
    expect(selector.audit()[1]!.trigger).toBe('policy revoked');
  });

  it('the built-in Nostr slot is never ready until the Nostr lane replaces it', () => {
    const slot = new NostrSupplemental();
    expect(slot.readiness()).toEqual({ ready: false, reason: 'the Nostr lane is not available in this build' });
    expect(slot.carries('publish_message')).toBe(true);
    expect(slot.carries('ack_message')).toBe(false);
  });
});
