import { describe, expect, it } from 'vitest';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { findPostgresBin } from '../lib/postgres';

describe('findPostgresBin', () => {
  it('takes the first PATH folder that has both postgres and initdb', () => {
    const onlyPostgres = mkdtempSync(join(tmpdir(), 'pgbin-a-'));
    const both = mkdtempSync(join(tmpdir(), 'pgbin-b-'));
    const path = process.env.PATH;
    try {
      writeFileSync(join(onlyPostgres, 'postgres'), '');
      for (const b of ['postgres', 'initdb']) {
        writeFileSync(join(both, b), '#!/bin/sh\n');
        chmodSync(join(both, b), 0o755);
      }
      process.env.PATH = [onlyPostgres, both].join(':');
      expect(findPostgresBin()).toBe(both);
    } finally {
      process.env.PATH = path;
      rmSync(onlyPostgres, { recursive: true });
      rmSync(both, { recursive: true });
    }
  });
});
