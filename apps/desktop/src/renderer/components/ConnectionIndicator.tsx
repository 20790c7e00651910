import { useEffect, useState } from 'react';
import type { ConnectionState } from '../../shared/contract';

const LABELS: Record<ConnectionState['status'], string> = {
  signed_out: 'Signed out',
  connecting: 'Connecting…',
  connected: 'Connected',
  reconnecting: 'Reconnecting…',
  offline: 'Offline',
};

/** Always visible: the world connection's health, with the reason when it is not up. */
export function ConnectionIndicator({ connection }: { connection: ConnectionState }) {
  const [, tick] = useState(0);
  useEffect(() => {
    if (connection.status === 'connected') return;
    const timer = setInterval(() => tick((n) => n + 1), 1000);
    return () => clearInterval(timer);
  }, [connection.status]);
  const seconds = Math.max(0, Math.round((Date.now() - connection.since) / 1000));
  const detail =
    connection.status === 'connected'
      ? `${connection.worldUrl} · ${connection.databaseName}`
      : connection.reason
        ? `${connection.reason}${connection.status !== 'signed_out' ? ` (${seconds}s)` : ''}`
        : '';
  return (
    <div className={`conn conn-${connection.status}`} data-testid="connection" data-status={connection.status} title={detail}>
      <span className="dot" aria-hidden />
      <span className="conn-label" data-testid="connection-label">
        {LABELS[connection.status]}
      </span>
      {connection.status !== 'connected' && connection.reason && (
        <span className="conn-reason" data-testid="connection-reason">
          {connection.reason}
        </span>
      )}
    </div>
  );
}
