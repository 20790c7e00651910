// Admission of WebSocket connections: the overall connection limit, a limit per remote address and
// a limit on anonymous connections in total, so that a flood of sockets nobody logged in for cannot
// take every slot from users who did (docs/trust-model.md, "Limits that protect others").
//
// A slot is taken the moment an upgrade arrives, before the (asynchronous) token check, so that
// concurrent upgrades cannot all pass a check that counts only finished ones.

export interface AdmissionLimits {
  /** Connections in total (open or being opened). */
  maxConnections: number;
  /** Connections from one remote address (anonymous and authenticated alike). */
  maxConnectionsPerAddress: number;
  /** Anonymous connections in total: no token, or a token this host minted for nobody in particular. */
  maxAnonymousConnections: number;
}

export type Refusal = { ok: false; status: 429 | 503; message: string };

/** One admitted connection's slot; released exactly once, however often `release` is called. */
export interface Ticket {
  /** Declare the connection anonymous (after its token was checked); refused past the anonymous limit. */
  markAnonymous(): { ok: true } | Refusal;
  release(): void;
}

export class Admission {
  private total = 0;
  private anonymous = 0;
  private readonly perAddress = new Map<string, number>();

  constructor(private readonly limits: AdmissionLimits) {}

  admit(address: string): { ok: true; ticket: Ticket } | Refusal {
    const { maxConnections, maxConnectionsPerAddress } = this.limits;
    if (this.total >= maxConnections) return { ok: false, status: 503, message: `connection limit reached (${maxConnections})` };
    const fromAddress = this.perAddress.get(address) ?? 0;
    if (fromAddress >= maxConnectionsPerAddress) {
      return { ok: false, status: 429, message: `too many connections from this address (limit ${maxConnectionsPerAddress})` };
    }
    this.total++;
    this.perAddress.set(address, fromAddress + 1);
    let anonymous = false;
    let released = false;
    const ticket: Ticket = {
      markAnonymous: () => {
        if (anonymous || released) return { ok: true };
        if (this.anonymous >= this.limits.maxAnonymousConnections) {
          return {
            ok: false,
            status: 503,
            message: `anonymous connection limit reached (${this.limits.maxAnonymousConnections}); connect with a token from a trusted issuer`,
          };
        }
        anonymous = true;
        this.anonymous++;
        return { ok: true };
      },
      release: () => {
        if (released) return;
        released = true;
        this.total--;
        if (anonymous) this.anonymous--;
        const left = (this.perAddress.get(address) ?? 1) - 1;
        if (left > 0) this.perAddress.set(address, left);
        else this.perAddress.delete(address);
      },
    };
    return { ok: true, ticket };
  }

  /** Counts, for tests and diagnostics. */
  counts(): { total: number; anonymous: number; addresses: number } {
    return { total: this.total, anonymous: this.anonymous, addresses: this.perAddress.size };
  }
}
