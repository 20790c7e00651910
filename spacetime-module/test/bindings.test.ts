// Fails when packages/world-client/src/module_bindings no longer matches what this module
// generates. Fix: node_modules/.bin/tsx spacetime-module/scripts/generate-bindings.ts
import { readdir, readFile } from 'node:fs/promises';
import { relative, sep } from 'node:path';
import { describe, expect, it } from 'vitest';
import { BINDINGS_DIR, bindingPath, expectedBindings } from '../scripts/bindings';

async function committedFiles(): Promise<string[]> {
  const entries = await readdir(BINDINGS_DIR, { withFileTypes: true, recursive: true });
  return entries
    .filter((entry) => entry.isFile())
    .map((entry) => relative(BINDINGS_DIR, `${entry.parentPath}${sep}${entry.name}`).split(sep).join('/'))
    .sort();
}

describe('committed client bindings', () => {
  it('are exactly what the module generates (regenerate with scripts/generate-bindings.ts)', async () => {
    const expected = await expectedBindings();
    const stale: string[] = [];
    for (const [file, contents] of expected) {
      const committed = await readFile(bindingPath(file), 'utf8').catch(() => undefined);
      if (committed !== contents) stale.push(committed === undefined ? `${file} (missing)` : `${file} (differs)`);
    }
    for (const file of await committedFiles()) if (!expected.has(file)) stale.push(`${file} (no longer generated)`);
    expect(stale, 'stale bindings; run: node_modules/.bin/tsx spacetime-module/scripts/generate-bindings.ts').toEqual([]);
  });

  it('cover every client-callable reducer and every public table and view', async () => {
    const index = (await expectedBindings()).get('index.ts')!;
    for (const reducer of ['join_world', 'publish_message', 'apply_file_ops', 'resolve_conflict', 'mark_bridge_event_published']) {
      expect(index).toContain(`__reducerSchema("${reducer}"`);
    }
    for (const table of ['autopilot_node', 'workspace_member', 'capability_ad', 'my_messages', 'compute_inbox', 'bridge_pending']) {
      expect(index).toContain(`name: "${table}"`);
    }
    // Private tables reach clients only through views.
    for (const hidden of ['message_event', 'world_config', 'comms_channel', 'file_head']) expect(index).not.toContain(`name: "${hidden}"`);
  });
});
