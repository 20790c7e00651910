// Both OutboxStorage implementations run the one contract suite; what only the file log does
// (torn tails, damage, compaction) is tested beside it.
import { appendFileSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { MemoryOutboxStorage, type OutboxEntry } from '../../src/index';
import { FileOutboxStorage } from '../../src/node/index';
import { outboxStorageContract } from '../support/outbox-storage-contract';

outboxStorageContract('memory', () => {
  // A memory outbox "survives" a restart only within one process: the same instance comes back.
  const storage = new MemoryOutboxStorage();
  return { storage, reopen: () => storage, close: async () => undefined };
});

outboxStorageContract('file', () => {
  const path = join(mkdtempSync(join(tmpdir(), 'outbox-')), 'node.jsonl');
  return {
    storage: new FileOutboxStorage(path),
    reopen: () => new FileOutboxStorage(path),
    close: async (storage) => (storage as FileOutboxStorage).close(),
  };
});

describe('FileOutboxStorage', () => {
  const entry = (key: string): OutboxEntry => ({ key, kind: 'publish_message', args: { payload: key }, enqueuedAt: 1, attempts: 0 });

  it('ignores a torn last line but refuses a damaged one in the middle', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'outbox-')), 'node.jsonl');
    const storage = new FileOutboxStorage(path);
    await storage.load();
    await storage.put(entry('a'));
    await storage.put(entry('b'));
    await storage.close();
    appendFileSync(path, '{"op":"put","entry":{"key":"c"');
    expect((await new FileOutboxStorage(path).load()).map((e) => e.key)).toEqual(['a', 'b']);

    writeFileSync(path, `${JSON.stringify({ op: 'put', entry: entry('a') })}\nnot json\n${JSON.stringify({ op: 'put', entry: entry('b') })}\n`);
    await expect(new FileOutboxStorage(path).load()).rejects.toThrow(`outbox file ${path} is damaged at line 2`);
  });

  it('compacts dead records away', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'outbox-')), 'node.jsonl');
    const storage = new FileOutboxStorage(path);
    await storage.load();
    for (let i = 0; i < 600; i++) {
      await storage.put(entry(`k${i}`));
      await storage.delete(`k${i}`);
    }
    await storage.put(entry('kept'));
    await storage.close();
    const lines = readFileSync(path, 'utf8').trim().split('\n');
    expect(lines.length).toBeLessThan(200);
    expect((await new FileOutboxStorage(path).load()).map((e) => e.key)).toEqual(['kept']);
  });
});
