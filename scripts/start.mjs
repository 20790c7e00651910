// `npm start`: the product on the embedded world — control, host + module, a local relay, the
// resident headless peer, and the desktop app (Electron when its binary is present, else web mode,
// printing the URL). Arguments pass through, e.g. `npm start -- --profile bob --attach`.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { root } from './bootstrap.mjs';

const child = spawn(join(root, 'node_modules', '.bin', 'tsx'), [join(root, 'apps', 'desktop', 'src', 'launch.ts'), ...process.argv.slice(2)], {
  cwd: root,
  stdio: 'inherit',
});
for (const sig of ['SIGINT', 'SIGTERM']) process.on(sig, () => child.kill(sig));
child.on('exit', (code, signal) => process.exit(code ?? (signal ? 1 : 0)));
