// Where the world's client bindings live and how they are produced, shared by the generator
// script and the test that fails when the committed bindings are stale.
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadModuleCatalog } from '@autopilot/spacetime-host';
import { generateBindings, writeBindings, type WriteBindingsResult } from '../../packages/spacetime-host/src/codegen/index';

export const MODULE_DIR = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BINDINGS_DIR = resolve(MODULE_DIR, '../packages/world-client/src/module_bindings');

/** The bindings the module produces now, as relative path → file contents. */
export async function expectedBindings(): Promise<Map<string, string>> {
  return generateBindings(await loadModuleCatalog(MODULE_DIR));
}

export async function regenerateBindings(outDir = BINDINGS_DIR): Promise<WriteBindingsResult> {
  return writeBindings(await loadModuleCatalog(MODULE_DIR), outDir);
}

export const bindingPath = (relative: string): string => join(BINDINGS_DIR, ...relative.split('/'));
