// Writes generated bindings into a folder the way `spacetime generate` does: files whose content
// changed are rewritten, and generated files (recognised by their header) that the module no
// longer produces are deleted. Hand-written files in the folder are never touched.
import { mkdir, open, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import type { Catalog } from '../module/catalog';
import { generateBindings, GENERATED_FILE_PREFIX, type GenerateOptions } from './typescript';

export interface WriteBindingsResult {
  /** Relative paths (with `/`) of files created or rewritten. */
  written: string[];
  /** Relative paths of files that already had the generated content. */
  unchanged: string[];
  /** Relative paths of stale generated files that were deleted. */
  deleted: string[];
}

async function readIfExists(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

async function listFiles(root: string): Promise<string[]> {
  let entries;
  try {
    entries = await readdir(root, { withFileTypes: true, recursive: true });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return [];
    throw err;
  }
  // `parentPath` is the Node 20.12+ name; `path` is the older one.
  return entries
    .filter((e) => e.isFile())
    .map((e) => join((e as { parentPath?: string }).parentPath ?? (e as unknown as { path: string }).path, e.name));
}

async function startsWithGeneratedPrefix(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const prefix = Buffer.from(GENERATED_FILE_PREFIX, 'utf8');
    const buf = Buffer.alloc(prefix.length);
    const { bytesRead } = await handle.read(buf, 0, prefix.length, 0);
    return bytesRead === prefix.length && buf.equals(prefix);
  } finally {
    await handle.close();
  }
}

const toPosix = (p: string) => p.split(sep).join('/');

export async function writeBindings(catalog: Catalog, outDir: string, options: GenerateOptions = {}): Promise<WriteBindingsResult> {
  const files = generateBindings(catalog, options);
  const result: WriteBindingsResult = { written: [], unchanged: [], deleted: [] };
  for (const [rel, contents] of files) {
    const path = join(outDir, ...rel.split('/'));
    if ((await readIfExists(path)) === contents) {
      result.unchanged.push(rel);
      continue;
    }
    await mkdir(dirname(path), { recursive: true });
    await writeFile(path, contents);
    result.written.push(rel);
  }
  for (const path of await listFiles(outDir)) {
    const rel = toPosix(relative(outDir, path));
    if (files.has(rel)) continue;
    if (await startsWithGeneratedPrefix(path)) {
      await rm(path);
      result.deleted.push(rel);
    }
  }
  result.deleted.sort();
  return result;
}
