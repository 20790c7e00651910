import { useEffect, useState } from 'react';
import { call, useApp } from '../store';

/** World and control endpoints, display name, the Nostr fallback lane, and the editor's place. */
export function Settings() {
  const settings = useApp((app) => app.settings);
  const [draft, setDraft] = useState(settings);
  const [relayText, setRelayText] = useState(settings.relays.join('\n'));
  const [saved, setSaved] = useState(false);
  useEffect(() => {
    setDraft(settings);
    setRelayText(settings.relays.join('\n'));
  }, [settings]);

  const save = async () => {
    const relays = relayText
      .split(/\s+/)
      .map((r) => r.trim())
      .filter((r) => r !== '');
    const r = await call('settings.update', { ...draft, relays });
    setSaved(r.ok);
  };

  return (
    <section className="panel settings" data-testid="settings">
      <h2>Settings</h2>
      <h3>World</h3>
      <label className="check">
        <input
          type="checkbox"
          data-testid="setting-embedded"
          checked={draft.useEmbedded}
          onChange={(e) => setDraft({ ...draft, useEmbedded: e.target.checked })}
        />
        Use the embedded world started with the app
      </label>
      <div className="grid2">
        <label className="field">
          <span>World URL (SpacetimeDB)</span>
          <input data-testid="setting-world-url" disabled={draft.useEmbedded} value={draft.worldUrl} onChange={(e) => setDraft({ ...draft, worldUrl: e.target.value })} />
        </label>
        <label className="field">
          <span>Database name</span>
          <input disabled={draft.useEmbedded} value={draft.databaseName} onChange={(e) => setDraft({ ...draft, databaseName: e.target.value })} />
        </label>
        <label className="field">
          <span>Control service URL</span>
          <input data-testid="setting-control-url" disabled={draft.useEmbedded} value={draft.controlUrl} onChange={(e) => setDraft({ ...draft, controlUrl: e.target.value })} />
        </label>
        <label className="field">
          <span>Display name (blank: account name)</span>
          <input data-testid="setting-display-name" value={draft.displayName} onChange={(e) => setDraft({ ...draft, displayName: e.target.value })} />
        </label>
      </div>
      <h3>Nostr fallback</h3>
      <label className="check">
        <input
          type="checkbox"
          data-testid="setting-nostr-fallback"
          checked={draft.nostrFallback}
          onChange={(e) => setDraft({ ...draft, nostrFallback: e.target.checked })}
        />
        When the world is unreachable, send through Nostr relays (if the world's transport policy allows it)
      </label>
      <label className="field">
        <span>Relays (one per line)</span>
        <textarea data-testid="setting-relays" rows={3} value={relayText} onChange={(e) => setRelayText(e.target.value)} placeholder="ws://127.0.0.1:7777" />
      </label>
      <h3>Editor</h3>
      <label className="check">
        <input type="checkbox" data-testid="setting-editor" checked={draft.editorEnabled} onChange={(e) => setDraft({ ...draft, editorEnabled: e.target.checked })} />
        Enable the shared editor preview (coming next)
      </label>
      <div className="row">
        <button className="primary" data-testid="settings-save" onClick={save}>
          Save settings
        </button>
        {saved && (
          <span className="muted" data-testid="settings-saved">
            Saved.
          </span>
        )}
      </div>
    </section>
  );
}
