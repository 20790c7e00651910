import { ConnectionIndicator } from './components/ConnectionIndicator';
import { Comms } from './components/Comms';
import { Compute } from './components/Compute';
import { EditorPlaceholder } from './components/EditorPlaceholder';
import { Identity } from './components/Identity';
import { Onboarding } from './components/Onboarding';
import { Settings } from './components/Settings';
import { useStore, type View } from './store';

const TABS: { view: View; label: string }[] = [
  { view: 'comms', label: 'Comms' },
  { view: 'compute', label: 'Compute' },
  { view: 'editor', label: 'Editor' },
  { view: 'identity', label: 'Identity' },
  { view: 'settings', label: 'Settings' },
];

export function App() {
  const app = useStore((s) => s.app);
  const view = useStore((s) => s.view);
  const setView = useStore((s) => s.setView);
  const lastError = useStore((s) => s.lastError);
  const setError = useStore((s) => s.setError);
  const unread = useStore((s) => s.app?.channels.reduce((n, c) => n + c.unread, 0) ?? 0);
  const inbox = useStore((s) => s.app?.compute.filter((r) => r.role === 'provider' && r.status === 'open').length ?? 0);

  if (!app) {
    return (
      <div className="loading" data-testid="loading">
        Connecting to the app core…
      </div>
    );
  }
  const signedIn = app.identity.activeId !== null;
  return (
    <div className="shell">
      <header className="topbar">
        <div className="brand">
          <span className="logo">◆</span> Autopilot
          <span className="mode" data-testid="app-mode">
            {app.mode === 'web' ? 'web mode' : 'desktop'}
          </span>
        </div>
        {signedIn && (
          <nav className="tabs" aria-label="Sections">
            {TABS.map((tab) => (
              <button
                key={tab.view}
                className={view === tab.view ? 'tab active' : 'tab'}
                data-testid={`tab-${tab.view}`}
                onClick={() => setView(tab.view)}
              >
                {tab.label}
                {tab.view === 'comms' && unread > 0 && <span className="badge">{unread}</span>}
                {tab.view === 'compute' && inbox > 0 && <span className="badge">{inbox}</span>}
              </button>
            ))}
          </nav>
        )}
        <div className="topbar-right">
          {signedIn && (
            <span className="whoami" data-testid="whoami" title={app.self.npub}>
              {app.self.displayName || 'me'}
            </span>
          )}
          <ConnectionIndicator connection={app.connection} />
        </div>
      </header>
      {lastError && (
        <div className="error-banner" role="alert" data-testid="error-banner">
          {lastError}
          <button className="link" onClick={() => setError(null)}>
            dismiss
          </button>
        </div>
      )}
      <main className="content">
        {!signedIn ? (
          <Onboarding />
        ) : view === 'comms' ? (
          <Comms />
        ) : view === 'compute' ? (
          <Compute />
        ) : view === 'editor' ? (
          <EditorPlaceholder />
        ) : view === 'identity' ? (
          <Identity />
        ) : (
          <Settings />
        )}
      </main>
    </div>
  );
}
