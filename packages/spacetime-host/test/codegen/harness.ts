// Shared set-up for the codegen tests: a scratch folder outside the repo where generated bindings
// can be type-checked with tsc and imported at runtime against the host's own `spacetimedb` SDK.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

export const HOST_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
export const SDK_DIR = join(HOST_ROOT, 'node_modules', 'spacetimedb');
export const fixturePath = (name: string): string => join(HOST_ROOT, 'test', 'codegen', 'fixtures', name);
export const KITCHEN_SINK = join(HOST_ROOT, 'test', 'fixtures', 'kitchen-sink');

export interface Workspace {
  root: string;
  cleanup(): Promise<void>;
}

/**
 * A temp folder whose `spacetimedb` resolves to the host's SDK: through `paths` for tsc, and
 * through a `node_modules` link for runtime imports.
 */
export async function makeWorkspace(): Promise<Workspace> {
  const root = await mkdtemp(join(tmpdir(), 'spacetime-codegen-'));
  await mkdir(join(root, 'node_modules'));
  await symlink(SDK_DIR, join(root, 'node_modules', 'spacetimedb'), 'dir');
  const tsconfig = {
    compilerOptions: {
      target: 'ES2022',
      lib: ['ES2023', 'DOM'],
      module: 'ESNext',
      moduleResolution: 'Bundler',
      strict: true,
      noEmit: true,
      skipLibCheck: true,
      isolatedModules: true,
      types: [],
      paths: { spacetimedb: [SDK_DIR] },
    },
    include: ['**/*.ts'],
    exclude: ['node_modules'],
  };
  await writeFile(join(root, 'tsconfig.json'), JSON.stringify(tsconfig, null, 2));
  return { root, cleanup: () => rm(root, { recursive: true, force: true }) };
}

/** Runs `tsc --noEmit -p <dir>`; resolves with its exit code and output. */
export function typecheck(dir: string): Promise<{ code: number; output: string }> {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  return new Promise((done) => {
    execFile(process.execPath, [tsc, '--noEmit', '-p', dir], { timeout: 120_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      done({ code, output: `${stdout}${stderr}` });
    });
  });
}

export const importGenerated = (path: string): Promise<Record<string, any>> => import(pathToFileURL(path).href);

/** Names a TypeScript source exports (values and types), via the compiler's parser. */
export function exportedNames(source: string): string[] {
  const file = ts.createSourceFile('x.ts', source, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  const names = new Set<string>();
  for (const stmt of file.statements) {
    const exported = ts.canHaveModifiers(stmt) && ts.getModifiers(stmt)?.some((m) => m.kind === ts.SyntaxKind.ExportKeyword);
    if (ts.isExportAssignment(stmt)) names.add('default');
    if (!exported) continue;
    if (ts.getModifiers(stmt as ts.HasModifiers)?.some((m) => m.kind === ts.SyntaxKind.DefaultKeyword)) names.add('default');
    else if (ts.isVariableStatement(stmt)) for (const d of stmt.declarationList.declarations) names.add(d.name.getText(file));
    else if ((ts.isClassDeclaration(stmt) || ts.isTypeAliasDeclaration(stmt) || ts.isFunctionDeclaration(stmt) || ts.isInterfaceDeclaration(stmt)) && stmt.name) {
      names.add(stmt.name.text);
    }
  }
  return [...names].sort();
}

/** Module specifiers a TypeScript source imports from. */
export function importedModules(source: string): string[] {
  const file = ts.createSourceFile('x.ts', source, ts.ScriptTarget.ES2022, false, ts.ScriptKind.TS);
  return file.statements.filter(ts.isImportDeclaration).map((s) => (s.moduleSpecifier as ts.StringLiteral).text);
}
