import { useEffect, useMemo, useRef, useState } from 'react';
import type { Peer } from '../../shared/contract';
import { MAX_MESSAGE_CHARS } from '../../shared/limits';
import { call, useApp, useStore } from '../store';

export function timeAgo(ms: number): string {
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  if (s < 60) return `${s}s ago`;
  if (s < 3600) return `${Math.floor(s / 60)}m ago`;
  if (s < 86400) return `${Math.floor(s / 3600)}h ago`;
  return new Date(ms).toLocaleDateString();
}

/** A padlock for private channels, # for open ones (drawn, so no emoji font is needed). */
function ChannelGlyph({ isPrivate }: { isPrivate: boolean }) {
  if (!isPrivate) return <span className="glyph">#</span>;
  return (
    <svg className="glyph" width="12" height="14" viewBox="0 0 12 14" role="img" aria-label="private">
      <rect x="1" y="6" width="10" height="7.5" rx="1.5" fill="currentColor" />
      <path d="M3.5 6V4.2a2.5 2.5 0 0 1 5 0V6" fill="none" stroke="currentColor" strokeWidth="1.6" />
    </svg>
  );
}

export function Comms() {
  return (
    <div className="comms">
      <aside className="sidebar">
        <PresenceList />
        <WorkspaceList />
        <ChannelList />
      </aside>
      <ChannelView />
    </div>
  );
}

function PresenceList() {
  const presence = useApp((app) => app.presence);
  const expectChannel = useStore((s) => s.expectChannel);
  const selectChannel = useStore((s) => s.selectChannel);
  const channels = useApp((app) => app.channels);
  const self = useApp((app) => app.self);
  const live = useApp((app) => app.connection.status === 'connected');

  const messagePeer = async (peer: Peer) => {
    const existing = channels.find((c) => c.kind === 'direct' && c.participants.includes(peer.id));
    if (existing) {
      selectChannel(existing.id);
      return;
    }
    const name = `${self.displayName || 'me'} ↔ ${peer.label}`;
    const opened = await call('channels.open', { name, peers: [peer.id], isPrivate: true });
    if (opened.ok) expectChannel(opened.value.requestKey);
  };

  return (
    <section className={live ? 'presence' : 'presence stale'} data-testid="presence">
      <h3>
        People &amp; autopilots {!live && <span className="muted small">last known</span>}
      </h3>
      {presence.length === 0 && <p className="muted">Nobody here yet.</p>}
      <ul>
        {presence.map((peer) => (
          <li key={peer.id} data-testid="peer" data-name={peer.displayName} data-status={peer.status}>
            <span className={`dot status-${peer.status}`} title={peer.status} />
            <span className="peer-name">
              {peer.label}
              {peer.isSelf && <span className="muted"> (you)</span>}
            </span>
            <span className="muted small" title={new Date(peer.lastHeartbeatAtMs).toLocaleString()}>
              {peer.status === 'offline' ? `seen ${timeAgo(peer.lastHeartbeatAtMs)}` : peer.status}
            </span>
            {!peer.isSelf && (
              <button className="small" data-testid="message-peer" onClick={() => messagePeer(peer)}>
                Message
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}

function WorkspaceList() {
  const workspaces = useApp((app) => app.workspaces);
  const presence = useApp((app) => app.presence);
  const [creating, setCreating] = useState(false);
  const [slug, setSlug] = useState('');
  const [name, setName] = useState('');
  const create = async () => {
    const r = await call('workspaces.create', { slug: slug.trim(), name: name.trim() });
    if (r.ok) {
      setCreating(false);
      setSlug('');
      setName('');
    }
  };
  return (
    <section className="workspaces" data-testid="workspaces">
      <h3>
        Workspaces{' '}
        <button className="small" data-testid="new-workspace" onClick={() => setCreating(!creating)}>
          {creating ? 'Cancel' : 'New'}
        </button>
      </h3>
      {creating && (
        <div className="new-channel">
          <input placeholder="name" data-testid="workspace-name" value={name} onChange={(e) => setName(e.target.value)} />
          <input placeholder="slug (e.g. my-team)" data-testid="workspace-slug" value={slug} onChange={(e) => setSlug(e.target.value.toLowerCase())} />
          <button className="primary" data-testid="workspace-create" disabled={slug.trim() === '' || name.trim() === ''} onClick={create}>
            Create workspace
          </button>
        </div>
      )}
      {workspaces.length === 0 && !creating && <p className="muted">None yet.</p>}
      <ul>
        {workspaces.map((w) => {
          const invitable = presence.filter((p) => !p.isSelf && !w.members.includes(p.id));
          const canInvite = w.role === 'owner' || w.role === 'admin';
          return (
            <li key={w.id} className="workspace" data-testid="workspace" data-slug={w.slug}>
              <span className="peer-name">{w.name}</span>
              <span className="muted small">
                {w.members.length} member{w.members.length === 1 ? '' : 's'} · {w.role}
              </span>
              {canInvite && invitable.length > 0 && (
                <select
                  className="invite"
                  data-testid="workspace-invite"
                  value=""
                  onChange={(e) => e.target.value && void call('workspaces.invite', { workspaceId: w.id, member: e.target.value })}
                >
                  <option value="">Invite…</option>
                  {invitable.map((p) => (
                    <option key={p.id} value={p.id}>
                      {p.label}
                    </option>
                  ))}
                </select>
              )}
            </li>
          );
        })}
      </ul>
    </section>
  );
}

function ChannelList() {
  const channels = useApp((app) => app.channels);
  const workspaces = useApp((app) => app.workspaces);
  const workspaceNames = new Map(workspaces.map((w) => [w.id, w.name]));
  const selected = useStore((s) => s.selectedChannelId);
  const selectChannel = useStore((s) => s.selectChannel);
  const [creating, setCreating] = useState(false);
  return (
    <section className="channels" data-testid="channels">
      <h3>
        Channels{' '}
        <button className="small" data-testid="new-channel" onClick={() => setCreating(!creating)}>
          {creating ? 'Cancel' : 'New'}
        </button>
      </h3>
      {creating && <NewChannel onDone={() => setCreating(false)} />}
      {channels.length === 0 && <p className="muted">No channels yet. Message someone to start one.</p>}
      <ul>
        {channels.map((c) => (
          <li key={c.id}>
            <button
              className={c.id === selected ? 'channel active' : 'channel'}
              data-testid="channel"
              data-name={c.name}
              onClick={() => selectChannel(c.id)}
            >
              <ChannelGlyph isPrivate={c.isPrivate} />
              <span className="channel-name">{c.name}</span>
              {c.workspaceId !== '0' && <span className="pill">{workspaceNames.get(c.workspaceId) ?? 'workspace'}</span>}
              {c.unread > 0 && (
                <span className="badge" data-testid="unread">
                  {c.unread}
                </span>
              )}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}

function NewChannel({ onDone }: { onDone: () => void }) {
  // Select the stored array and filter here: a selector returning a new array re-renders forever.
  const everyone = useApp((app) => app.presence);
  const presence = everyone.filter((p) => !p.isSelf);
  const workspaces = useApp((app) => app.workspaces);
  const expectChannel = useStore((s) => s.expectChannel);
  const [name, setName] = useState('');
  const [isPrivate, setPrivate] = useState(true);
  const [workspaceId, setWorkspaceId] = useState('0');
  const [chosen, setChosen] = useState<string[]>([]);
  const workspace = workspaces.find((w) => w.id === workspaceId);
  // A workspace channel seats only the workspace's members.
  const candidates = workspace ? presence.filter((p) => workspace.members.includes(p.id)) : presence;
  const submit = async () => {
    const peers = chosen.filter((id) => candidates.some((p) => p.id === id));
    const r = await call('channels.open', { name: name.trim(), peers, isPrivate, workspaceId });
    if (!r.ok) return;
    expectChannel(r.value.requestKey);
    onDone();
  };
  return (
    <div className="new-channel" data-testid="new-channel-form">
      <input placeholder="channel name" data-testid="new-channel-name" value={name} onChange={(e) => setName(e.target.value)} />
      <select data-testid="new-channel-where" value={workspaceId} onChange={(e) => setWorkspaceId(e.target.value)}>
        <option value="0">World (no workspace)</option>
        {workspaces.map((w) => (
          <option key={w.id} value={w.id}>
            Workspace: {w.name}
          </option>
        ))}
      </select>
      <label className="check">
        <input type="checkbox" checked={isPrivate} onChange={(e) => setPrivate(e.target.checked)} /> private (only the people you add)
      </label>
      <div className="peer-picks">
        {candidates.map((p) => (
          <label className="check" key={p.id} data-testid="new-channel-peer" data-name={p.displayName}>
            <input
              type="checkbox"
              checked={chosen.includes(p.id)}
              onChange={(e) => setChosen(e.target.checked ? [...chosen, p.id] : chosen.filter((id) => id !== p.id))}
            />
            {p.label}
          </label>
        ))}
      </div>
      <button className="primary" data-testid="new-channel-open" disabled={name.trim() === '' || chosen.length === 0} onClick={submit}>
        Open channel
      </button>
    </div>
  );
}

function ChannelView() {
  const selectedId = useStore((s) => s.selectedChannelId);
  const channel = useApp((app) => app.channels.find((c) => c.id === selectedId));
  const messages = useApp((app) => (selectedId ? app.messages[selectedId] : undefined));
  const presence = useApp((app) => app.presence);
  const selfId = useApp((app) => app.self.nodeId);
  const [text, setText] = useState('');
  const listRef = useRef<HTMLOListElement>(null);
  const names = useMemo(() => new Map(presence.map((p) => [p.id, p.label])), [presence]);

  useEffect(() => {
    if (channel && channel.lastSeq > channel.readSeq && document.visibilityState === 'visible') {
      void call('messages.markRead', { channelId: channel.id, seq: channel.lastSeq });
    }
  }, [channel?.id, channel?.lastSeq, channel?.readSeq]);

  useEffect(() => {
    listRef.current?.lastElementChild?.scrollIntoView({ block: 'end' });
  }, [messages?.length]);

  if (!selectedId || !channel) {
    return (
      <section className="channel-view empty" data-testid="channel-empty">
        <p className="muted">Pick a channel, or press “Message” next to someone.</p>
      </section>
    );
  }

  const tooLong = text.length > MAX_MESSAGE_CHARS;
  const send = async () => {
    const body = text.trim();
    if (body === '' || body.length > MAX_MESSAGE_CHARS) return;
    // Cleared at once so the next message can be typed; a refused one comes back unless the
    // composer has new text by then (nothing typed is ever thrown away).
    setText('');
    const sent = await call('messages.send', { channelId: channel.id, text: body });
    if (!sent.ok) setText((current) => (current === '' ? body : current));
  };

  return (
    <section className="channel-view" data-testid="channel-view" data-channel={channel.name}>
      <header>
        <h2>
          <ChannelGlyph isPrivate={channel.isPrivate} /> {channel.name}
        </h2>
        <span className="muted small">
          {channel.participants.map((p) => (p === selfId ? 'you' : (names.get(p) ?? p.slice(0, 8)))).join(', ')}
          {channel.status === 'closed' ? ' · closed' : ''}
        </span>
      </header>
      <ol className="messages" ref={listRef} data-testid="messages">
        {(messages ?? []).map((m) => (
          <li
            key={m.idempotencyKey}
            className={`${m.sender === selfId ? 'mine' : 'theirs'}${m.pending ? ' pending' : ''}`}
            data-testid="message"
            data-seq={m.seq}
            data-pending={m.pending ? 'true' : 'false'}
          >
            <div className="meta">
              <span className="sender">{m.sender === selfId ? 'you' : m.senderName}</span>
              <span className="muted small">{m.pending ? 'waiting to send…' : `#${m.seq} · ${new Date(m.sentAtMs).toLocaleTimeString()}`}</span>
            </div>
            <div className="body" data-testid="message-body">
              {m.payload}
            </div>
          </li>
        ))}
      </ol>
      <form
        className="composer"
        onSubmit={(e) => {
          e.preventDefault();
          void send();
        }}
      >
        <input
          data-testid="composer"
          placeholder={`Message ${channel.name}`}
          value={text}
          aria-invalid={tooLong}
          aria-describedby="composer-limit"
          onChange={(e) => setText(e.target.value)}
        />
        {text.length > 0 && (
          <span id="composer-limit" className={tooLong ? 'counter over' : 'counter'} data-testid="composer-count">
            {text.length.toLocaleString('en')} / {MAX_MESSAGE_CHARS.toLocaleString('en')}
          </span>
        )}
        <button className="primary" data-testid="send" type="submit" disabled={text.trim() === '' || tooLong}>
          Send
        </button>
      </form>
      {tooLong && (
        <p className="composer-error" role="alert" data-testid="composer-error">
          This message is {text.length.toLocaleString('en')} characters; the limit is {MAX_MESSAGE_CHARS.toLocaleString('en')}. Shorten it or send it
          in parts — your text stays here.
        </p>
      )}
    </section>
  );
}
