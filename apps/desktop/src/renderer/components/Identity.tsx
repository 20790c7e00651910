import { useState } from 'react';
import { call, useApp } from '../store';
import { Onboarding } from './Onboarding';
import { SeedWarning } from './SeedWarning';

/**
 * Identity details: npub (copy), the backup words on request (after a warning that says what they
 * are and a second click), and the profile's other accounts.
 */
export function Identity() {
  const identity = useApp((app) => app.identity);
  const self = useApp((app) => app.self);
  const [backup, setBackup] = useState<string[] | null>(null);
  const [confirmingReveal, setConfirmingReveal] = useState(false);
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
        <>
          <SeedWarning />
          <ol className="seed" data-testid="backup-words">
            {backup.map((w, i) => (
              <li key={i}>
                <span className="n">{i + 1}</span> {w}
              </li>
            ))}
          </ol>
          <button data-testid="hide-backup" onClick={() => setBackup(null)}>
            Hide the words
          </button>
        </>
      ) : confirmingReveal ? (
        <div className="confirm" role="alertdialog" aria-labelledby="reveal-title" data-testid="reveal-warning">
          <p id="reveal-title">
            <strong>Show the seed phrase of “{active?.label}”?</strong>
          </p>
          <SeedWarning />
          <div className="row">
            <button data-testid="reveal-cancel" onClick={() => setConfirmingReveal(false)}>
              Cancel
            </button>
            <button
              className="primary danger"
              data-testid="reveal-confirm"
              onClick={async () => {
                const r = await call('identity.revealBackup', { accountId: identity.activeId! });
                setConfirmingReveal(false);
                if (r.ok) setBackup(r.value.words);
              }}
            >
              Show the words
            </button>
          </div>
        </div>
      ) : (
        <button data-testid="reveal-backup" onClick={() => setConfirmingReveal(true)}>
          Show my seed phrase…
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
