// The app's layers, checked on the imports themselves (the repo's ESLint config covers the shared
// contract and the renderer; this also covers the core, the preload and the web shim).
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const src = resolve(import.meta.dirname, '..', 'src');

function files(dir: string): string[] {
  return readdirSync(join(src, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? files(join(dir, entry.name)) : /\.tsx?$/.test(entry.name) ? [join(dir, entry.name)] : [],
  );
}

/** Every module a file imports: packages by name, relative paths as folders under src/. */
function importsOf(file: string): string[] {
  const text = readFileSync(join(src, file), 'utf8');
  return [...text.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s+'([^']+)'|import\('([^']+)'\)/g)].map((m) => {
    const spec = (m[1] ?? m[2])!;
    return spec.startsWith('.') ? `src/${relative(src, resolve(src, dirname(file), spec))}` : spec;
  });
}

function offenders(dir: string, allowed: (spec: string) => boolean): string[] {
  return files(dir).flatMap((file) => importsOf(file).filter((spec) => !allowed(spec)).map((spec) => `${file} imports ${spec}`));
}

describe('layers', () => {
  it('the shared contract imports only zod', () => {
    expect(offenders('shared', (s) => s === 'zod' || s.startsWith('src/shared'))).toEqual([]);
  });

  it('the renderer imports only React, zustand, itself and the contract', () => {
    expect(offenders('renderer', (s) => ['react', 'react-dom/client', 'zustand'].includes(s) || s.startsWith('src/renderer') || s.startsWith('src/shared'))).toEqual([]);
  });

  it('the core never imports Electron, the adapters or the renderer', () => {
    expect(offenders('core', (s) => s !== 'electron' && !/^src\/(electron|web|renderer)/.test(s))).toEqual([]);
  });

  it('the browser-side web bridge imports only the contract', () => {
    expect(importsOf('web/bridge-shim.ts')).toEqual(['src/shared/contract']);
  });

  it('only the Electron adapter imports electron', () => {
    const users = files('.').filter((file) => importsOf(file).includes('electron'));
    expect(users.every((file) => file.startsWith('electron/'))).toBe(true);
    expect(users).toContain('electron/main.ts');
  });
});
