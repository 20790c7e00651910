// Bundles a SpacetimeDB TypeScript module the way `spacetime build` does (one script, everything
// inlined except the `spacetime:sys@*` ABI imports, which are left to the host), using esbuild.
import { build, type Plugin } from 'esbuild';
import { createHash } from 'node:crypto';
import { existsSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join, resolve, sep } from 'node:path';

export const MODULE_GLOBAL = '__spacetime_module__';
export const SYS_GLOBAL = '__spacetime_sys__';

export interface ModuleBundle {
  entry: string;
  code: string;
  /** sha256 of the bundle text: identifies the module program for migrations and logs. */
  hash: string;
}

/** Accept a module folder (uses src/index.ts like `spacetime publish`) or an entry file. */
export function resolveModuleEntry(pathOrFolder: string): string {
  const p = resolve(pathOrFolder);
  if (!existsSync(p)) throw new Error(`module not found: ${p}`);
  if (statSync(p).isDirectory()) {
    for (const candidate of ['src/index.ts', 'src/lib.ts', 'index.ts']) {
      const f = join(p, candidate);
      if (existsSync(f)) return f;
    }
    throw new Error(`no src/index.ts in module folder ${p}`);
  }
  return p;
}

function hostNodeModules(): string {
  // Fallback resolution for `spacetimedb` when the module's own folder has no copy.
  const require = createRequire(import.meta.url);
  const resolved = require.resolve('spacetimedb');
  const marker = `${sep}node_modules${sep}spacetimedb${sep}`;
  const at = resolved.lastIndexOf(marker);
  if (at < 0) throw new Error(`cannot locate the host's spacetimedb package (resolved ${resolved})`);
  return resolved.slice(0, at + `${sep}node_modules`.length);
}

const sysPlugin: Plugin = {
  name: 'spacetime-sys',
  setup(b) {
    b.onResolve({ filter: /^spacetime:sys@/ }, (args) => ({ path: args.path, namespace: 'spacetime-sys' }));
    b.onLoad({ filter: /.*/, namespace: 'spacetime-sys' }, (args) => {
      const version = args.path.slice('spacetime:sys@'.length);
      return {
        contents: `module.exports = globalThis[${JSON.stringify(SYS_GLOBAL)}][${JSON.stringify(version)}];`,
        loader: 'js',
      };
    });
  },
};

export async function bundleModule(pathOrFolder: string): Promise<ModuleBundle> {
  const entry = resolveModuleEntry(pathOrFolder);
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    write: false,
    format: 'iife',
    globalName: MODULE_GLOBAL,
    platform: 'neutral',
    target: 'node20',
    conditions: ['production', 'import', 'default'],
    mainFields: ['module', 'main'],
    nodePaths: [hostNodeModules()],
    plugins: [sysPlugin],
    logLevel: 'silent',
    legalComments: 'none',
  });
  const code = result.outputFiles[0]!.text;
  return { entry, code, hash: createHash('sha256').update(code).digest('hex') };
}
