// The embedded world across restarts of the launcher (issue 14 item 7): control's port, hence its
// issuer, is kept in the data dir and reused; a port that is taken falls back to a free one with a
// warning; the world keeps trusting earlier issuers; and a user who logs in through two different
// issuers keeps one node row, because the world keys users by their pubkey, not by the issuer.
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { LAUNCHER_STATE_FILE, startEmbeddedWorld, type EmbeddedWorld } from '../src/core/embedded/world';
import { tempDir } from './helpers';

const silent = pino({ level: 'silent' });

describe('the embedded world across launcher restarts', () => {
  let dir: string;
  let cleanup: () => Promise<void>;
  const running: EmbeddedWorld[] = [];
  beforeEach(async () => {
    ({ dir, cleanup } = await tempDir('embedded-restart-'));
  });
  afterEach(async () => {
    for (const world of running.splice(0)) await world.close().catch(() => undefined);
    await cleanup();
  });

  async function start(options: { controlPort?: number; logger?: pino.Logger } = {}): Promise<EmbeddedWorld> {
    const world = await startEmbeddedWorld({ dataDir: dir, peer: false, logger: silent, ...options });
    running.push(world);
    return world;
  }
  async function stop(world: EmbeddedWorld): Promise<void> {
    running.splice(running.indexOf(world), 1);
    await world.close();
  }
  const state = async () => JSON.parse(await readFile(join(dir, LAUNCHER_STATE_FILE), 'utf8')) as { controlPort: number; trustedIssuers: string[] };

  it('reuses the control port (same issuer), and falls back to a free port with a warning when it is taken', async () => {
    const first = await start();
    const firstPort = Number(new URL(first.controlUrl).port);
    expect((await state()).controlPort).toBe(firstPort);
    await stop(first);

    const second = await start();
    expect(second.controlUrl).toBe(first.controlUrl);
    expect((await state()).trustedIssuers).toEqual([first.controlUrl]);
    await stop(second);

    // Someone else holds the port now.
    const squatter = createServer();
    await new Promise<void>((resolve) => squatter.listen(firstPort, '127.0.0.1', resolve));
    try {
      const lines: string[] = [];
      const sink = new Writable({
        write(chunk: Buffer, _encoding, done) {
          lines.push(chunk.toString());
          done();
        },
      });
      const third = await start({ logger: pino({ level: 'warn' }, sink) });
      expect(third.controlUrl).not.toBe(first.controlUrl);
      expect(lines.join('')).toContain(`control port ${firstPort} is taken`);
      expect((await state()).controlPort).toBe(Number(new URL(third.controlUrl).port));
      expect((await state()).trustedIssuers).toEqual([first.controlUrl, third.controlUrl]);
    } finally {
      await new Promise<void>((resolve) => squatter.close(() => resolve()));
    }
  });
});
