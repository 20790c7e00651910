// `npm start`: the product on the embedded world. Runs scripts/embedded-world.ts under tsx.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { root } from './bootstrap.mjs';

const child = spawn(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'scripts', 'embedded-world.ts'), ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
