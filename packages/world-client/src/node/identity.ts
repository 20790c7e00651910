// Node identities in an encrypted keystore file: one account (a NIP-06 mnemonic) per node, created
// on first use and loaded afterwards, so a node keeps its npub across restarts.
import { deriveIdentity, EncryptedFileKeystore, generateMnemonic, type NostrIdentity } from '@autopilot/nip06';
import { FileKeystoreStorage } from './file-storage';

export interface NodeIdentity {
  readonly accountId: string;
  readonly identity: NostrIdentity;
  /** True when this run created it. */
  readonly created: boolean;
}

export interface KeystoreOptions {
  path: string;
  passphrase: string;
  /** scrypt cost (log2 N) for writes; lower only in tests. */
  scryptLogN?: number;
}

/** The identities of nodes 0..count-1 (account ids node-0, node-1, ...), creating missing ones. */
export async function loadOrCreateNodeIdentities(keystore: KeystoreOptions, count: number, label = 'autopilot-node'): Promise<NodeIdentity[]> {
  if (!Number.isInteger(count) || count < 1) throw new RangeError(`count must be a positive integer, got ${count}`);
  const store = new EncryptedFileKeystore({
    storage: new FileKeystoreStorage(keystore.path),
    passphrase: keystore.passphrase,
    ...(keystore.scryptLogN !== undefined ? { scryptLogN: keystore.scryptLogN } : {}),
  });
  const known = new Set((await store.list()).map((account) => account.id));
  const identities: NodeIdentity[] = [];
  for (let index = 0; index < count; index++) {
    const accountId = `node-${index}`;
    if (known.has(accountId)) {
      identities.push({ accountId, identity: deriveIdentity(await store.load(accountId)), created: false });
      continue;
    }
    const mnemonic = generateMnemonic();
    const identity = deriveIdentity(mnemonic);
    await store.save({ id: accountId, label: count === 1 ? label : `${label}-${index}`, npub: identity.npub, createdAt: Date.now() }, mnemonic);
    identities.push({ accountId, identity, created: true });
  }
  return identities;
}
