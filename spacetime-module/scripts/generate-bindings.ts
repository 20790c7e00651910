// Regenerates packages/world-client/src/module_bindings from this module (like
// `spacetime generate --lang typescript`). Run: node_modules/.bin/tsx spacetime-module/scripts/generate-bindings.ts
import { relative } from 'node:path';
import { BINDINGS_DIR, regenerateBindings } from './bindings';

const result = await regenerateBindings();
const where = relative(process.cwd(), BINDINGS_DIR) || '.';
console.log(`${where}: ${result.written.length} written, ${result.unchanged.length} unchanged, ${result.deleted.length} deleted`);
for (const file of result.written) console.log(`  wrote ${file}`);
for (const file of result.deleted) console.log(`  deleted ${file}`);
