// Starts what the specs drive: one embedded world (its own process, so the host can be restarted
// under the apps) and app instances with separate profiles — web mode in Debian's Chromium, or
// real Electron windows when an Electron binary is present.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { chromium, _electron, type Browser, type Page } from 'playwright-core';

export const REPO_ROOT = resolve(import.meta.dirname, '..', '..');
export const ARTIFACTS = join(REPO_ROOT, 'e2e', 'artifacts');
const TSX = join(REPO_ROOT, 'node_modules', '.bin', 'tsx');
const DESKTOP = join(REPO_ROOT, 'apps', 'desktop');

export interface WorldEndpoints {
  worldUrl: string;
  databaseName: string;
  controlUrl: string;
  relayUrl: string;
  peerNpub: string | null;
}

/** Spawns a process and resolves with the first JSON line on stdout whose event matches. */
function spawnReady(args: string[], ready: string, label: string): Promise<{ child: ChildProcessWithoutNullStreams; first: Record<string, unknown>; events: AsyncEvents }> {
  const child = spawn(TSX, args, { cwd: REPO_ROOT, env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'warn' } });
  const events = new AsyncEvents();
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + String(d)).slice(-4000);
  });
  createInterface({ input: child.stdout }).on('line', (line) => {
    if (!line.startsWith('{')) return;
    try {
      events.push(JSON.parse(line) as Record<string, unknown>);
    } catch {
      // not an event line
    }
  });
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => reject(new Error(`${label} did not start within 60 s; stderr: ${stderr}`)), 60_000);
    child.once('exit', (code) => reject(new Error(`${label} exited (${code}) before it was ready; stderr: ${stderr}`)));
    void events.next(ready).then((first) => {
      clearTimeout(timer);
      resolvePromise({ child, first, events });
    });
  });
}

class AsyncEvents {
  #seen: Record<string, unknown>[] = [];
  #waiters: { event: string; resolve: (e: Record<string, unknown>) => void }[] = [];
  push(event: Record<string, unknown>) {
    const waiter = this.#waiters.find((w) => w.event === event.event);
    if (waiter) {
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      waiter.resolve(event);
    } else this.#seen.push(event);
  }
  next(event: string): Promise<Record<string, unknown>> {
    const index = this.#seen.findIndex((e) => e.event === event);
    if (index !== -1) return Promise.resolve(this.#seen.splice(index, 1)[0]!);
    return new Promise((r) => this.#waiters.push({ event, resolve: r }));
  }
}

export class EmbeddedWorldProcess {
  private constructor(
    readonly endpoints: WorldEndpoints,
    private readonly child: ChildProcessWithoutNullStreams,
    private readonly events: AsyncEvents,
  ) {}

  static async start(dataDir: string, options: { peer?: boolean } = {}): Promise<EmbeddedWorldProcess> {
    const args = [join(DESKTOP, 'src', 'core', 'embedded', 'cli.ts'), '--data-dir', dataDir];
    if (options.peer === false) args.push('--no-peer');
    const { child, first, events } = await spawnReady(args, 'ready', 'embedded world');
    return new EmbeddedWorldProcess(first as unknown as WorldEndpoints, child, events);
  }

  /** Asks for a host restart; resolves when the host is back (it is down for `downMs`). */
  async restartHost(downMs: number): Promise<void> {
    this.child.stdin.write(`restart-host ${downMs}\n`);
    await this.events.next('host-restarted');
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null) return;
    this.child.stdin.write('stop\n');
    await new Promise((r) => {
      const timer = setTimeout(() => {
        this.child.kill('SIGKILL');
        r(null);
      }, 5000);
      this.child.once('exit', () => {
        clearTimeout(timer);
        r(null);
      });
    });
  }
}

/** Finds an Electron binary the same way the app's launcher does (no download attempt). */
export function electronBinary(): string | undefined {
  if (process.env.E2E_FORCE_WEB === '1') return undefined;
  if (process.env.ELECTRON_PATH && existsSync(process.env.ELECTRON_PATH)) return process.env.ELECTRON_PATH;
  const pkg = join(DESKTOP, 'node_modules', 'electron');
  const pathFile = join(pkg, 'path.txt');
  if (!existsSync(pathFile)) return undefined;
  const binary = join(process.env.ELECTRON_OVERRIDE_DIST_PATH ?? join(pkg, 'dist'), readFileSync(pathFile, 'utf8').trim());
  return existsSync(binary) ? binary : undefined;
}

export function chromiumPath(): string {
  const candidates = [process.env.CHROMIUM_PATH, '/usr/bin/chromium', '/usr/bin/chromium-browser'].filter((p): p is string => !!p);
  const found = candidates.find((p) => existsSync(p));
  if (!found) throw new Error('no Chromium found: install it (apt-get install chromium) or set CHROMIUM_PATH');
  return found;
}

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-dev-shm-usage',
];

let sharedBrowser: Browser | undefined;
async function browser(): Promise<Browser> {
  sharedBrowser ??= await chromium.launch({ executablePath: chromiumPath(), args: CHROMIUM_ARGS, headless: true });
  return sharedBrowser;
}

export async function closeBrowser(): Promise<void> {
  await sharedBrowser?.close();
  sharedBrowser = undefined;
}

/** One autopilot's app: its profile, its core process and its window. */
export class AppInstance {
  page!: Page;
  mode: 'web' | 'electron' = 'web';
  private stopProcess: () => Promise<void> = async () => undefined;

  constructor(
    readonly name: string,
    readonly profileDir: string,
    private readonly world: WorldEndpoints,
  ) {}

  static async launch(name: string, world: WorldEndpoints, profileRoot: string): Promise<AppInstance> {
    const app = new AppInstance(name, join(profileRoot, name), world);
    mkdirSync(app.profileDir, { recursive: true });
    await app.start();
    return app;
  }

  async start(): Promise<void> {
    const electron = electronBinary();
    if (electron) {
      this.mode = 'electron';
      const app = await _electron.launch({
        executablePath: electron,
        args: [join(DESKTOP, 'dist', 'electron', 'main.mjs'), '--no-sandbox'],
        env: {
          ...process.env,
          AUTOPILOT_PROFILE: this.profileDir,
          AUTOPILOT_EMBEDDED: JSON.stringify({ worldUrl: this.world.worldUrl, databaseName: this.world.databaseName, controlUrl: this.world.controlUrl }),
        } as Record<string, string>,
      });
      this.page = await app.firstWindow();
      this.stopProcess = () => app.close();
    } else {
      const { child, first } = await spawnReady(
        [
          join(DESKTOP, 'src', 'web', 'cli.ts'),
          '--profile',
          this.profileDir,
          '--world',
          this.world.worldUrl,
          '--control',
          this.world.controlUrl,
          '--database',
          this.world.databaseName,
        ],
        'ready',
        `app ${this.name}`,
      );
      const context = await (await browser()).newContext({ viewport: { width: 1280, height: 800 } });
      await context.grantPermissions(['clipboard-read', 'clipboard-write']);
      this.page = await context.newPage();
      await this.page.goto(String(first.url));
      this.stopProcess = async () => {
        await context.close();
        child.kill('SIGTERM');
        await new Promise((r) => (child.exitCode !== null ? r(null) : child.once('exit', r)));
      };
    }
    await this.page.getByTestId('connection').waitFor();
  }

  async restart(): Promise<void> {
    await this.stop();
    await this.start();
  }

  async stop(): Promise<void> {
    await this.stopProcess();
    this.stopProcess = async () => undefined;
  }

  /** Saves a screenshot named after the step under e2e/artifacts/. */
  async shot(step: string): Promise<void> {
    mkdirSync(ARTIFACTS, { recursive: true });
    await this.page.screenshot({ path: join(ARTIFACTS, `${step}-${this.name}.png`) });
  }
}

export function freshDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), prefix));
}
