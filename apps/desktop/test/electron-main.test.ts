// The Electron adapter without an Electron binary: its real bundle runs under Node against a
// stand-in `electron` module that records what the adapter asks of Electron, then the recorded IPC
// handler is called the way Electron would call it — from our page and from others.
import { spawnSync } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleElectronMain } from '../scripts/build';
import { tempDir } from './helpers';

const STAND_IN = String.raw`
const { writeFileSync } = require('node:fs');
const { pathToFileURL } = require('node:url');
const { join } = require('node:path');
const log = { events: [], windows: [], permissions: {}, requests: {}, ipc: {} };
const handlers = {};
let permissionHandler, requestHandler;
exports.app = {
  enableSandbox: () => log.events.push('enableSandbox'),
  setPath: (name, value) => log.events.push('setPath:' + name),
  getPath: () => process.env.STAND_IN_USERDATA,
  on: (event) => log.events.push('on:' + event),
  whenReady: () => Promise.resolve(),
  quit: () => {},
  exit: (code) => { log.events.push('exit:' + code); finish(); },
};
exports.session = { defaultSession: {
  setPermissionRequestHandler: (fn) => (permissionHandler = fn),
  setPermissionCheckHandler: () => {},
  webRequest: { onBeforeRequest: (fn) => (requestHandler = fn) },
} };
exports.safeStorage = {
  isAsyncEncryptionAvailable: async () => true,
  encryptStringAsync: async (s) => Buffer.from('sealed:' + s),
  decryptStringAsync: async (b) => ({ result: b.toString().slice(7), shouldReEncrypt: false }),
  getSelectedStorageBackend: () => 'basic_text',
};
exports.ipcMain = { handle: (channel, fn) => (handlers[channel] = fn) };
exports.BrowserWindow = class {
  constructor(options) {
    log.windows.push(options);
    this.webContents = { send: () => {}, on: () => {} };
  }
  once() {}
  on() {}
  isDestroyed() { return false; }
  async loadFile(file) {
    log.loaded = file;
    const ours = { sender: this.webContents, senderFrame: { url: pathToFileURL(file).href, parent: null } };
    const handle = handlers['autopilot:call'];
    log.ipc.ours = await handle(ours, 'app.getState', {});
    log.ipc.badParams = await handle(ours, 'messages.send', { channelId: 'x' });
    log.ipc.otherPage = await handle({ ...ours, senderFrame: { url: 'https://evil.example/', parent: null } }, 'app.getState', {});
    log.ipc.subframe = await handle({ ...ours, senderFrame: { url: ours.senderFrame.url, parent: {} } }, 'app.getState', {});
    log.ipc.otherContents = await handle({ ...ours, sender: {} }, 'app.getState', {});
    for (const p of ['clipboard-sanitized-write', 'media']) permissionHandler(null, p, (allowed) => (log.permissions[p] = allowed));
    for (const url of ['file:///x/index.html', 'https://cdn.example/x.js']) requestHandler({ url }, (r) => (log.requests[url] = r.cancel));
    finish();
  }
};
function finish() {
  writeFileSync(process.env.STAND_IN_LOG, JSON.stringify(log));
  process.exit(0);
}
`;

let dir: string;
let cleanup: () => Promise<void>;
let log: any;

beforeAll(async () => {
  ({ dir, cleanup } = await tempDir());
  await mkdir(join(dir, 'app', 'node_modules', 'electron'), { recursive: true });
  await writeFile(join(dir, 'app', 'node_modules', 'electron', 'package.json'), '{"name":"electron","main":"index.js"}');
  await writeFile(join(dir, 'app', 'node_modules', 'electron', 'index.js'), STAND_IN);
  await bundleElectronMain(join(dir, 'app', 'dist', 'electron', 'main.mjs'));
  const run = spawnSync(process.execPath, [join(dir, 'app', 'dist', 'electron', 'main.mjs')], {
    env: { ...process.env, STAND_IN_LOG: join(dir, 'log.json'), STAND_IN_USERDATA: join(dir, 'userdata'), AUTOPILOT_PROFILE: join(dir, 'profile') },
    encoding: 'utf8',
    timeout: 30_000,
  });
  if (run.status !== 0) throw new Error(`the main bundle failed: ${run.stderr}`);
  log = JSON.parse(await readFile(join(dir, 'log.json'), 'utf8'));
});
afterAll(() => cleanup());

describe('Electron main (bundle under a stand-in electron)', () => {
  it('sandboxes every renderer and hardens all web contents before the window exists', () => {
    expect(log.events.slice(0, 3)).toEqual(['enableSandbox', 'setPath:userData', 'on:web-contents-created']);
    expect(log.windows).toHaveLength(1);
    expect(log.windows[0].webPreferences).toMatchObject({ contextIsolation: true, sandbox: true, nodeIntegration: false, webSecurity: true });
    expect(log.windows[0].webPreferences.preload).toBe(join(dir, 'app', 'dist', 'electron', 'preload.cjs'));
    expect(log.loaded).toBe(join(dir, 'app', 'dist', 'renderer', 'index.html'));
  });

  it('answers IPC only from our own top-level page, validating the params', () => {
    expect(log.ipc.ours).toMatchObject({ ok: true, value: { mode: 'electron', identity: { secretStore: 'safeStorage (basic_text)' } } });
    expect(log.ipc.badParams).toMatchObject({ ok: false, code: 'invalid_params' });
    for (const refused of [log.ipc.otherPage, log.ipc.subframe, log.ipc.otherContents]) expect(refused).toMatchObject({ ok: false, code: 'forbidden' });
  });

  it('grants only the clipboard write and cancels network requests', () => {
    expect(log.permissions).toEqual({ 'clipboard-sanitized-write': true, media: false });
    expect(log.requests).toEqual({ 'file:///x/index.html': false, 'https://cdn.example/x.js': true });
  });
});
