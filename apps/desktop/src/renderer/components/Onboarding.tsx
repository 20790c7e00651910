import { useState } from 'react';
import { call, useStore } from '../store';
import { SeedWarning } from './SeedWarning';

type Step =
  | { kind: 'choose' }
  | { kind: 'show'; draftId: string; words: string[]; positions: number[] }
  | { kind: 'confirm'; draftId: string; words: string[]; positions: number[] }
  | { kind: 'import' };

/** First run (or "add account"): create a seed phrase with a backup check, or import one. */
export function Onboarding({ onDone }: { onDone?: () => void }) {
  const [step, setStep] = useState<Step>({ kind: 'choose' });
  const [label, setLabel] = useState('');
  const [typed, setTyped] = useState<Record<number, string>>({});
  const [mnemonic, setMnemonic] = useState('');
  const [account, setAccount] = useState('0');
  const [busy, setBusy] = useState(false);
  const error = useStore((s) => s.lastError);

  const create = async () => {
    setBusy(true);
    const draft = await call('identity.createDraft', {});
    setBusy(false);
    if (draft.ok) setStep({ kind: 'show', draftId: draft.value.draftId, words: draft.value.words, positions: draft.value.confirmPositions });
  };

  const confirm = async () => {
    if (step.kind !== 'confirm') return;
    setBusy(true);
    const saved = await call('identity.confirmDraft', {
      draftId: step.draftId,
      label,
      confirmations: step.positions.map((position) => ({ position, word: typed[position] ?? '' })),
    });
    setBusy(false);
    if (saved.ok) onDone?.();
  };

  const importSeed = async () => {
    setBusy(true);
    const saved = await call('identity.import', { mnemonic, label, account: Number(account) || 0 });
    setBusy(false);
    if (saved.ok) onDone?.();
  };

  return (
    <section className="panel onboarding" data-testid="onboarding">
      <h2>Your autopilot identity</h2>
      <p className="muted">
        Your identity is a Nostr key derived from a seed phrase (NIP-06). It signs you in to the world; the phrase is kept
        encrypted on this machine.
      </p>
      {step.kind === 'choose' && (
        <div className="choices">
          <label className="field">
            <span>Name for this account</span>
            <input data-testid="account-label" value={label} onChange={(e) => setLabel(e.target.value)} placeholder="e.g. Alice's autopilot" />
          </label>
          <div className="row">
            <button className="primary" data-testid="create-identity" disabled={busy || label.trim() === ''} onClick={create}>
              Create a new seed phrase
            </button>
            <button data-testid="import-identity" disabled={label.trim() === ''} onClick={() => setStep({ kind: 'import' })}>
              Import a seed phrase
            </button>
          </div>
        </div>
      )}
      {step.kind === 'show' && (
        <div>
          <p>
            <strong>Write these words down, in order.</strong> They are the only way to restore this identity.
          </p>
          <SeedWarning />
          <ol className="seed" data-testid="seed-words">
            {step.words.map((word, i) => (
              <li key={i} data-testid={`seed-word-${i + 1}`}>
                <span className="n">{i + 1}</span> {word}
              </li>
            ))}
          </ol>
          <button className="primary" data-testid="seed-written" onClick={() => setStep({ ...step, kind: 'confirm' })}>
            I have written them down
          </button>
        </div>
      )}
      {step.kind === 'confirm' && (
        <div>
          <p>Type the words at these positions to confirm your backup.</p>
          {step.positions.map((position) => (
            <label className="field inline" key={position}>
              <span>Word #{position}</span>
              <input
                data-testid={`confirm-word-${position}`}
                value={typed[position] ?? ''}
                autoComplete="off"
                onChange={(e) => setTyped({ ...typed, [position]: e.target.value })}
              />
            </label>
          ))}
          <div className="row">
            <button onClick={() => setStep({ ...step, kind: 'show' })}>Show the words again</button>
            <button className="primary" data-testid="confirm-backup" disabled={busy} onClick={confirm}>
              Confirm and sign in
            </button>
          </div>
        </div>
      )}
      {step.kind === 'import' && (
        <div>
          <label className="field">
            <span>Seed phrase (12 or 24 words)</span>
            <textarea data-testid="import-mnemonic" rows={3} value={mnemonic} autoComplete="off" onChange={(e) => setMnemonic(e.target.value)} />
          </label>
          <label className="field inline">
            <span>Account index</span>
            <input data-testid="import-account" value={account} onChange={(e) => setAccount(e.target.value.replace(/\D/g, ''))} />
          </label>
          <div className="row">
            <button onClick={() => setStep({ kind: 'choose' })}>Back</button>
            <button className="primary" data-testid="import-submit" disabled={busy || mnemonic.trim() === ''} onClick={importSeed}>
              Import and sign in
            </button>
          </div>
        </div>
      )}
      {error && (
        <p className="error" data-testid="onboarding-error">
          {error}
        </p>
      )}
    </section>
  );
}
