// Layering as in VS Code: code that must run anywhere imports no Node, DOM or Electron;
// the renderer talks only to the bridge contract; the preload imports only the contract.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { builtinModules } from 'node:module';
import globals from 'globals';

const nodeBuiltins = [...builtinModules, ...builtinModules.map((m) => `node:${m}`)];
const anywhereGlobs = [
  'packages/nip06/src/**/*.ts',
  'packages/line-ops/src/**/*.ts',
  'packages/test-support/src/core/**/*.ts',
  'packages/world-client/src/core/**/*.ts',
  'apps/desktop/src/shared/**/*.ts',
];

export default tseslint.config(
  {
    // Generated, built and run-time files (npm start writes .data/; e2e writes artifacts).
    ignores: [
      '**/node_modules/**',
      '**/dist/**',
      '**/out/**',
      '**/release/**',
      '.tools/**',
      '.data/**',
      'e2e/artifacts/**',
      'e2e/test-results/**',
      '**/module_bindings/**',
      '**/*.d.ts',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    // Plain JS scripts (bootstrap, test runner) run under Node.
    files: ['**/*.mjs', '**/*.cjs', '**/*.js'],
    languageOptions: { globals: globals.node },
  },
  {
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
      '@typescript-eslint/no-explicit-any': 'off',
      'no-constant-condition': ['error', { checkLoops: false }],
    },
  },
  {
    files: anywhereGlobs,
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...nodeBuiltins, 'electron', 'react-dom'].map((name) => ({
            name,
            message: 'This layer runs anywhere: no Node, DOM or Electron imports.',
          })),
        },
      ],
      'no-restricted-globals': ['error', 'window', 'document', 'process', 'Buffer', 'require'],
    },
  },
  {
    files: ['apps/desktop/src/renderer/**/*.{ts,tsx}'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: [...nodeBuiltins, 'electron'].map((name) => ({ name, message: 'The renderer talks only to the bridge.' })),
          patterns: [{ group: ['**/main/**', '**/core/**', '@autopilot/world-client*'], message: 'The renderer talks only to the bridge.' }],
        },
      ],
    },
  },
  {
    // The main-process core also runs under plain Node (web mode): no Electron in it.
    files: ['apps/desktop/src/core/**/*.ts', 'apps/desktop/src/web/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { paths: [{ name: 'electron', message: 'The core runs without Electron; only src/electron may import it.' }] }],
    },
  },
  {
    // The preload is the bridge only: Electron's IPC and the contract, nothing else.
    files: ['apps/desktop/src/electron/preload.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          paths: nodeBuiltins.map((name) => ({ name, message: 'The preload exposes the bridge only.' })),
          patterns: [{ regex: '^(?!electron$|\\.\\./shared/).*', message: 'The preload may import only electron and ../shared/*.' }],
        },
      ],
    },
  },
);
