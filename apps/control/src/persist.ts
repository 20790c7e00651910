import { randomBytes } from 'node:crypto';
import { mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { dirname } from 'node:path';

/** Files holding keys and sessions are readable by the owner only. */
const PRIVATE_FILE_MODE = 0o600;

/** Reads a JSON file, or undefined when it does not exist yet. Other failures throw with the path. */
export async function readJsonFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new Error(`cannot read ${path}: ${(error as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new Error(`${path} is not valid JSON: ${(error as Error).message}`);
  }
}

/**
 * Writes JSON so a reader (or a crash) never sees half a file: a fresh private temp file beside
 * the target, flushed, then renamed over it.
 */
export async function writeJsonFileAtomically(path: string, value: unknown): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  const tempPath = `${path}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`;
  try {
    await writeFile(tempPath, `${JSON.stringify(value, null, 2)}\n`, { mode: PRIVATE_FILE_MODE, flush: true });
    await rename(tempPath, path);
  } catch (error) {
    await rm(tempPath, { force: true });
    throw error;
  }
}

/**
 * Serializes writes of one file: each call waits for the previous one, so the last snapshot
 * requested is the last one written.
 */
export class SerialJsonWriter {
  private tail: Promise<void> = Promise.resolve();

  constructor(private readonly path: string) {}

  write(snapshot: unknown): Promise<void> {
    const next = this.tail.then(() => writeJsonFileAtomically(this.path, snapshot));
    // A failed write must not wedge later ones; the caller of this write still sees the error.
    this.tail = next.catch(() => undefined);
    return next;
  }

  /** Resolves once every write requested so far has finished. */
  settled(): Promise<void> {
    return this.tail;
  }
}
