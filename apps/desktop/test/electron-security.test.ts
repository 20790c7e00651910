// The Electron security checklist, checked without an Electron binary: the hardening functions
// behave, and the adapter's source uses them (no window or webPreferences built around them).
import { EventEmitter } from 'node:events';
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { allowPermission, hardenContents, isAllowedRequestUrl, isTrustedSender, secureWebPreferences } from '../src/electron/security';

const src = resolve(import.meta.dirname, '..', 'src');
const read = (path: string) => readFileSync(join(src, path), 'utf8');
function sources(dir: string): string[] {
  return readdirSync(join(src, dir), { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sources(join(dir, entry.name)) : /\.tsx?$/.test(entry.name) ? [join(dir, entry.name)] : [],
  );
}

describe('Electron security checklist', () => {
  it('renderers are isolated, sandboxed and without Node', () => {
    expect(secureWebPreferences('/app/preload.cjs')).toMatchObject({
      preload: '/app/preload.cjs',
      contextIsolation: true,
      sandbox: true,
      nodeIntegration: false,
      nodeIntegrationInWorker: false,
      nodeIntegrationInSubFrames: false,
      webSecurity: true,
      allowRunningInsecureContent: false,
      webviewTag: false,
    });
  });

  it('navigation, redirects, webviews and window.open are all refused', () => {
    const contents = Object.assign(new EventEmitter(), { openHandler: undefined as undefined | ((d: { url: string }) => { action: string }) });
    const blocked: string[] = [];
    hardenContents(
      {
        on: (event, listener) => contents.on(event, listener),
        setWindowOpenHandler: (handler) => (contents.openHandler = handler),
      },
      (what) => blocked.push(what),
    );
    for (const event of ['will-navigate', 'will-redirect', 'will-attach-webview']) {
      let prevented = false;
      contents.emit(event, { preventDefault: () => (prevented = true) }, 'https://evil.example');
      expect(prevented, event).toBe(true);
    }
    expect(contents.openHandler?.({ url: 'https://evil.example' })).toEqual({ action: 'deny' });
    expect(blocked).toEqual(['navigation', 'redirect', 'webview', 'window.open']);
  });

  it('IPC is answered only for our own top-level page', () => {
    const ours = 'file:///opt/autopilot/renderer/index.html';
    expect(isTrustedSender({ url: ours, isTopFrame: true }, ours)).toBe(true);
    expect(isTrustedSender({ url: `${ours}#/settings`, isTopFrame: true }, ours)).toBe(true);
    expect(isTrustedSender({ url: ours, isTopFrame: false }, ours)).toBe(false);
    expect(isTrustedSender({ url: 'file:///tmp/evil.html', isTopFrame: true }, ours)).toBe(false);
    expect(isTrustedSender({ url: 'https://evil.example/', isTopFrame: true }, ours)).toBe(false);
    expect(isTrustedSender(null, ours)).toBe(false);
  });

  it('no remote content and no permissions beyond the clipboard write', () => {
    expect(isAllowedRequestUrl('file:///opt/autopilot/renderer/assets/index.js')).toBe(true);
    expect(isAllowedRequestUrl('https://cdn.example/x.js')).toBe(false);
    expect(isAllowedRequestUrl('ws://127.0.0.1:3000')).toBe(false);
    expect(allowPermission('clipboard-sanitized-write')).toBe(true);
    for (const permission of ['media', 'geolocation', 'notifications', 'openExternal', 'clipboard-read']) expect(allowPermission(permission)).toBe(false);
  });

  it('the adapter builds its window and IPC only through the checklist', () => {
    const main = read('electron/main.ts');
    expect(main.match(/new BrowserWindow\(/g)).toHaveLength(1);
    expect(main).toMatch(/webPreferences: secureWebPreferences\(/);
    expect(main).toMatch(/app\.enableSandbox\(\)/);
    expect(main).toMatch(/web-contents-created[^\n]*hardenContents/);
    expect(main).toMatch(/setPermissionRequestHandler\([^\n]*allowPermission/);
    expect(main).toMatch(/onBeforeRequest\([^\n]*isAllowedRequestUrl/);
    const handlers = main.match(/ipcMain\.(handle|on)\(/g) ?? [];
    expect(handlers).toHaveLength(1);
    expect(main.slice(main.indexOf('ipcMain.handle(')).slice(0, 400)).toContain('isTrustedSender(');
    expect(main).not.toMatch(/loadURL\(/);
  });

  it('nothing in the app weakens the checklist', () => {
    for (const file of sources('.')) {
      const text = read(file);
      expect(text, file).not.toMatch(/nodeIntegration(InWorker|InSubFrames)?:\s*true/);
      expect(text, file).not.toMatch(/contextIsolation:\s*false/);
      expect(text, file).not.toMatch(/sandbox:\s*false/);
      expect(text, file).not.toMatch(/webSecurity:\s*false/);
      expect(text, file).not.toMatch(/allowRunningInsecureContent:\s*true/);
      expect(text, file).not.toMatch(/\beval\(|new Function\(/);
    }
  });

  it('the preload exposes only the bridge, and imports only electron and the contract', () => {
    const preload = read('electron/preload.ts');
    const imports = [...preload.matchAll(/from '([^']+)'/g)].map((m) => m[1]);
    expect(imports.sort()).toEqual(['../shared/contract', 'electron']);
    expect(preload.match(/exposeInMainWorld\(/g)).toHaveLength(1);
    expect(preload).toContain("exposeInMainWorld('autopilot', bridge)");
  });

  it('the renderer page carries a strict CSP of its own (file:// has no headers)', () => {
    const html = read('renderer/index.html');
    const csp = /http-equiv="Content-Security-Policy" content="([^"]+)"/.exec(html)?.[1] ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    // No unsafe-*, no wildcard sources or hosts (a loopback port wildcard is fine: web mode's port varies).
    expect(csp).not.toMatch(/unsafe-(inline|eval)|\s\*(\s|;|$)|:\/\/\*/);
    expect(csp).toMatch(/connect-src 'self' ws:\/\/127\.0\.0\.1:\* ws:\/\/localhost:\*;/);
  });
});
