// The thin Electron adapter: one secure window showing the renderer, the core behind IPC, secrets
// wrapped by safeStorage's async API. Everything else is the shared core (src/core).
import { app, BrowserWindow, ipcMain, safeStorage, session } from 'electron';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { AppCore, type EmbeddedEndpoints } from '../core/app-core';
import type { SecretBox } from '../core/secrets';
import { IPC_CALL, IPC_STATE } from '../shared/contract';
import { allowPermission, hardenContents, isAllowedRequestUrl, isTrustedSender, secureWebPreferences } from './security';

class SafeStorageSecretBox implements SecretBox {
  readonly description = `safeStorage (${process.platform === 'linux' ? safeStorage.getSelectedStorageBackend() : 'OS keychain'})`;
  async encrypt(plaintext: string): Promise<Uint8Array> {
    if (!(await safeStorage.isAsyncEncryptionAvailable())) throw new Error('OS secret storage is not available');
    return new Uint8Array(await safeStorage.encryptStringAsync(plaintext));
  }
  async decrypt(ciphertext: Uint8Array): Promise<string> {
    const { result } = await safeStorage.decryptStringAsync(Buffer.from(ciphertext));
    return result;
  }
}

function embeddedFromEnv(): EmbeddedEndpoints | undefined {
  const raw = process.env.AUTOPILOT_EMBEDDED;
  if (!raw) return undefined;
  const parsed = JSON.parse(raw) as EmbeddedEndpoints;
  return { worldUrl: parsed.worldUrl, databaseName: parsed.databaseName, controlUrl: parsed.controlUrl };
}

const rendererFile = join(import.meta.dirname, '..', 'renderer', 'index.html');
const rendererUrl = pathToFileURL(rendererFile).href;

app.enableSandbox();
// AUTOPILOT_PROFILE (set by the launcher) is the same profile folder web mode uses; Chromium's own
// data goes into a subfolder of it.
const profileDir = process.env.AUTOPILOT_PROFILE ?? join(app.getPath('userData'), 'profile');
if (process.env.AUTOPILOT_PROFILE) app.setPath('userData', join(process.env.AUTOPILOT_PROFILE, 'electron'));

app.on('web-contents-created', (_event, contents) => hardenContents(contents, (what, url) => console.warn(`blocked ${what} ${url}`)));

async function main(): Promise<void> {
  await app.whenReady();
  const ses = session.defaultSession;
  ses.setPermissionRequestHandler((_contents, permission, callback) => callback(allowPermission(permission)));
  ses.setPermissionCheckHandler((_contents, permission) => allowPermission(permission));
  ses.webRequest.onBeforeRequest((details, callback) => callback({ cancel: !isAllowedRequestUrl(details.url) }));

  const core = await AppCore.open({
    profileDir,
    secretBox: new SafeStorageSecretBox(),
    mode: 'electron',
    embedded: embeddedFromEnv(),
  });

  const win = new BrowserWindow({
    width: 1280,
    height: 820,
    title: 'Autopilot',
    show: false,
    webPreferences: secureWebPreferences(join(import.meta.dirname, 'preload.cjs')),
  });
  win.once('ready-to-show', () => win.show());

  ipcMain.handle(IPC_CALL, async (event, name: unknown, params: unknown) => {
    const frame = event.senderFrame;
    const trusted = event.sender === win.webContents && isTrustedSender(frame ? { url: frame.url, isTopFrame: frame.parent === null } : null, rendererUrl);
    if (!trusted) return { ok: false, code: 'forbidden', message: 'this page may not use the autopilot bridge' };
    return core.call(name, params);
  });
  const unsubscribe = core.subscribe((push) => {
    if (!win.isDestroyed()) win.webContents.send(IPC_STATE, push);
  });

  win.on('closed', () => {
    unsubscribe();
    void core.close().finally(() => app.quit());
  });
  await win.loadFile(rendererFile);
}

app.on('window-all-closed', () => app.quit());
main().catch((error) => {
  console.error(error);
  app.exit(1);
});
