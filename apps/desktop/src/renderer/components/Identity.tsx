import { useState } from 'react';
import { call, useApp } from '../store';
import { Onboarding } from './Onboarding';

/** Identity details: npub (copy), backup words on request, and the profile's other accounts. */
export function Identity() {
  const identity = useApp((app) => app.identity);
  const self = useApp((app) => app.self);
  const [backup, setBackup] = useState<string[] | null>(null);
  const [copied, setCopied] = useState(false);
  const [adding, setAdding] = useState(false);
  const active = identity.accounts.find((a) => a.id === identity.activeId);

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(self.npub);
      setCopied(true);
    } catch {
      setCopied(false);
      window.prompt('Copy your npub', self.npub);
    }
  };

  if (adding) return <Onboarding onDone={() => setAdding(false)} />;
  return (
    <section className="panel" data-testid="identity">
      <h2>Identity</h2>
      <dl className="details">
        <dt>Account</dt>
        <dd>{active?.label}</dd>
        <dt>npub</dt>
        <dd className="mono" data-testid="npub">
          {self.npub}{' '}
          <button className="small" data-testid="copy-npub" onClick={copy}>
            {copied ? 'Copied' : 'Copy'}
          </button>
        </dd>
        <dt>World node</dt>
        <dd className="mono">{self.nodeId ?? 'not connected yet'}</dd>
        <dt>Secrets kept by</dt>
        <dd>{identity.secretStore}</dd>
      </dl>
      <h3>Backup</h3>
      {backup ? (
        <ol className="seed" data-testid="backup-words">
          {backup.map((w, i) => (
            <li key={i}>
              <span className="n">{i + 1}</span> {w}
            </li>
          ))}
        </ol>
      ) : (
        <button
          data-testid="reveal-backup"
          onClick={async () => {
            const r = await call('identity.revealBackup', { accountId: identity.activeId! });
            if (r.ok) setBackup(r.value.words);
          }}
        >
          Show my seed phrase
        </button>
      )}
      <h3>Accounts on this device</h3>
      <ul className="accounts" data-testid="accounts">
        {identity.accounts.map((a) => (
          <li key={a.id}>
            <span>
              <strong>{a.label}</strong> <span className="mono muted">{a.npub.slice(0, 20)}…</span>
            </span>
            {a.id === identity.activeId ? (
              <span className="pill">active</span>
            ) : (
              <button className="small" onClick={() => call('identity.switch', { accountId: a.id })}>
                Switch
              </button>
            )}
          </li>
        ))}
      </ul>
      <div className="row">
        <button data-testid="add-account" onClick={() => setAdding(true)}>
          Add another account
        </button>
        <button onClick={() => call('identity.signOut', {})}>Sign out</button>
      </div>
    </section>
  );
}
