// File-backed storage for the outbox and the keystore (Node).
import { mkdir, open, readFile, rename, writeFile, type FileHandle } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { KeystoreStorage } from '@autopilot/nip06';
import type { OutboxEntry, OutboxStorage } from '../core/outbox';

/**
 * The outbox as an append-only JSON-lines log (`put` and `del` records), compacted when loaded and
 * whenever dead records outnumber live ones. A torn last line (crash mid-write) is ignored.
 * Without `fsync`, a write survives a process crash but not a power loss.
 */
export class FileOutboxStorage implements OutboxStorage {
  readonly path: string;
  readonly #fsync: boolean;
  #handle: FileHandle | undefined;
  #live = new Map<string, OutboxEntry>();
  #deadRecords = 0;

  constructor(path: string, options: { fsync?: boolean } = {}) {
    this.path = path;
    this.#fsync = options.fsync ?? false;
  }

  async load(): Promise<OutboxEntry[]> {
    let text = '';
    try {
      text = await readFile(this.path, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
    const live = new Map<string, OutboxEntry>();
    const lines = text.split('\n');
    lines.forEach((line, index) => {
      if (line.trim() === '') return;
      let record: { op?: unknown; entry?: unknown; key?: unknown };
      try {
        record = JSON.parse(line) as typeof record;
      } catch {
        if (index === lines.length - 1) return; // no newline yet: the torn tail of an interrupted append
        throw new Error(`outbox file ${this.path} is damaged at line ${index + 1}`);
      }
      if (record.op === 'put' && isEntry(record.entry)) live.set(record.entry.key, record.entry);
      else if (record.op === 'del' && typeof record.key === 'string') live.delete(record.key);
      else throw new Error(`outbox file ${this.path} has an unknown record at line ${index + 1}`);
    });
    this.#live = live;
    await this.#compact();
    return [...live.values()];
  }

  async put(entry: OutboxEntry): Promise<void> {
    if (this.#live.has(entry.key)) this.#deadRecords += 1;
    this.#live.set(entry.key, entry);
    await this.#append({ op: 'put', entry });
  }

  async delete(key: string): Promise<void> {
    if (!this.#live.delete(key)) return;
    this.#deadRecords += 2;
    await this.#append({ op: 'del', key });
    if (this.#deadRecords > 1_000 && this.#deadRecords > this.#live.size) await this.#compact();
  }

  async close(): Promise<void> {
    await this.#handle?.close();
    this.#handle = undefined;
  }

  async #append(record: object): Promise<void> {
    if (!this.#handle) {
      await mkdir(dirname(this.path), { recursive: true });
      this.#handle = await open(this.path, 'a', 0o600);
    }
    await this.#handle.appendFile(`${JSON.stringify(record)}\n`, 'utf8');
    if (this.#fsync) await this.#handle.sync();
  }

  /** Rewrites the log with only the live entries (atomically, by rename). */
  async #compact(): Promise<void> {
    await this.#handle?.close();
    this.#handle = undefined;
    const text = [...this.#live.values()].map((entry) => `${JSON.stringify({ op: 'put', entry })}\n`).join('');
    await writeAtomically(this.path, text);
    this.#deadRecords = 0;
  }
}

/** The keystore blob in one file, written atomically with owner-only permissions. */
export class FileKeystoreStorage implements KeystoreStorage {
  constructor(readonly path: string) {}

  async read(): Promise<Uint8Array | undefined> {
    try {
      return new Uint8Array(await readFile(this.path));
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw error;
    }
  }

  async write(bytes: Uint8Array): Promise<void> {
    await writeAtomically(this.path, bytes);
  }
}

async function writeAtomically(path: string, data: string | Uint8Array): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  const temporary = `${path}.${process.pid}.tmp`;
  await writeFile(temporary, data, { mode: 0o600 });
  const handle = await open(temporary, 'r');
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
  await rename(temporary, path);
}

function isEntry(value: unknown): value is OutboxEntry {
  if (typeof value !== 'object' || value === null) return false;
  const entry = value as Partial<OutboxEntry>;
  return typeof entry.key === 'string' && typeof entry.kind === 'string' && typeof entry.enqueuedAt === 'number' && typeof entry.attempts === 'number' && 'args' in entry;
}
