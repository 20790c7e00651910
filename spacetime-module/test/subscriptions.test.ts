// The subscriptions README.md tells clients to use are accepted by the host, as written.
import { readFile } from 'node:fs/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startWorld, subscribe, until, type World } from './support/world';

async function documentedQueries(): Promise<string[]> {
  const readme = await readFile(new URL('../README.md', import.meta.url), 'utf8');
  const block = /## Subscriptions clients should use\s+```sql\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error('README.md has no "Subscriptions clients should use" sql block');
  return block[1]!
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '' && !line.startsWith('--'));
}

describe('documented subscriptions', () => {
  let world: World;
  beforeAll(async () => {
    world = await startWorld();
  });
  afterAll(async () => {
    await world?.close();
  });

  it('are all accepted in one subscription set', async () => {
    const node = await world.node({ name: 'reader' });
    await node.conn.reducers.createWorkspace({ slug: 'readme', name: 'Readme' });
    await subscribe(node.conn, ['SELECT * FROM workspace']);
    await until(() => node.conn.db.workspace.count() === 1n, 'workspace');
    const workspaceId = [...node.conn.db.workspace.iter()][0]!.workspaceId;
    const queries = (await documentedQueries()).map((query) => query.replaceAll('workspace_id = 5', `workspace_id = ${workspaceId}`));
    expect(queries.length).toBeGreaterThan(15);
    await subscribe(node.conn, queries);
    await until(() => node.conn.db.autopilotNode.count() === 1n, 'semijoin yields the member node');
    expect(node.conn.db.workspaceMember.count()).toBe(1n);
  });
});
