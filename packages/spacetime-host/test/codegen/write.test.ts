// writeBindings: rewrites only what changed, removes generated files the module no longer
// produces, and never touches files it did not generate.
import { mkdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { generateBindings, GENERATED_FILE_PREFIX } from '../../src/codegen/typescript';
import { writeBindings } from '../../src/codegen/write';
import type { Catalog } from '../../src/module/catalog';
import { loadModuleCatalog } from '../../src/module/describe';
import { fixturePath, KITCHEN_SINK, makeWorkspace, type Workspace } from './harness';

let ws: Workspace;
let basic: Catalog;
let kitchenSink: Catalog;

beforeAll(async () => {
  ws = await makeWorkspace();
  basic = await loadModuleCatalog(fixturePath('basic'));
  kitchenSink = await loadModuleCatalog(KITCHEN_SINK);
});
afterAll(async () => {
  await ws?.cleanup();
});

it('writes every generated file, creating folders, into a folder that does not exist yet', async () => {
  const out = join(ws.root, 'fresh', 'module_bindings');
  const result = await writeBindings(basic, out);
  const expected = generateBindings(basic);
  expect(result.written).toEqual([...expected.keys()]);
  expect(result.unchanged).toEqual([]);
  expect(result.deleted).toEqual([]);
  for (const [rel, contents] of expected) expect(await readFile(join(out, rel), 'utf8')).toBe(contents);
});

it('leaves unchanged files alone on a second run', async () => {
  const out = join(ws.root, 'again');
  await writeBindings(basic, out);
  const before = (await stat(join(out, 'index.ts'))).mtimeMs;
  await new Promise((r) => setTimeout(r, 20));
  const result = await writeBindings(basic, out);
  expect(result.written).toEqual([]);
  expect(result.unchanged).toEqual([...generateBindings(basic).keys()]);
  expect((await stat(join(out, 'index.ts'))).mtimeMs).toBe(before);
});

it('deletes stale generated files, rewrites edited ones and keeps hand-written files', async () => {
  const out = join(ws.root, 'switch');
  await writeBindings(basic, out);
  await writeFile(join(out, 'index.ts'), `${GENERATED_FILE_PREFIX}. edited by hand\n`);
  await mkdir(join(out, 'extra'), { recursive: true });
  await writeFile(join(out, 'extra', 'old_table.ts'), `${GENERATED_FILE_PREFIX}. EDITS TO THIS FILE\n`);
  await writeFile(join(out, 'helpers.ts'), 'export const mine = 1;\n');
  await writeFile(join(out, 'short.ts'), '//\n');

  // Switching modules: basic's reducer files are stale, kitchen-sink's are new.
  const result = await writeBindings(kitchenSink, out);
  expect(result.deleted).toEqual(['add_reducer.ts', 'extra/old_table.ts', 'say_hello_reducer.ts']);
  expect(result.written).toEqual(expect.arrayContaining(['add_person_reducer.ts', 'index.ts', 'person_table.ts']));
  expect(await readFile(join(out, 'index.ts'), 'utf8')).toBe(generateBindings(kitchenSink).get('index.ts'));
  expect(await readFile(join(out, 'helpers.ts'), 'utf8')).toBe('export const mine = 1;\n');
  expect(await readFile(join(out, 'short.ts'), 'utf8')).toBe('//\n');
  await expect(stat(join(out, 'add_reducer.ts'))).rejects.toMatchObject({ code: 'ENOENT' });
  await rm(out, { recursive: true });
});
