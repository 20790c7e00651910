// The Electron security checklist in one place, so it can be tested without an Electron binary:
// isolated, sandboxed renderers without Node; no navigation, no new windows, no webviews, no
// permissions beyond writing to the clipboard; IPC answered only for our own top-level page.
import type { WebPreferences } from 'electron';

export function secureWebPreferences(preloadPath: string): WebPreferences {
  return {
    preload: preloadPath,
    contextIsolation: true,
    sandbox: true,
    nodeIntegration: false,
    nodeIntegrationInWorker: false,
    nodeIntegrationInSubFrames: false,
    webSecurity: true,
    allowRunningInsecureContent: false,
    webviewTag: false,
    experimentalFeatures: false,
    navigateOnDragDrop: false,
    spellcheck: false,
  };
}

/** The parts of WebContents the hardening touches (so a test can pass a stand-in). */
export interface HardenableContents {
  on(event: 'will-navigate' | 'will-redirect' | 'will-attach-webview', listener: (event: { preventDefault(): void }, ...args: unknown[]) => void): unknown;
  setWindowOpenHandler(handler: (details: { url: string }) => { action: 'deny' }): void;
}

export function hardenContents(contents: HardenableContents, onBlocked: (what: string, url: string) => void = () => undefined): void {
  contents.on('will-navigate', (event, url) => {
    event.preventDefault();
    onBlocked('navigation', String(url));
  });
  contents.on('will-redirect', (event, url) => {
    event.preventDefault();
    onBlocked('redirect', String(url));
  });
  contents.on('will-attach-webview', (event) => {
    event.preventDefault();
    onBlocked('webview', '');
  });
  contents.setWindowOpenHandler(({ url }) => {
    onBlocked('window.open', url);
    return { action: 'deny' };
  });
}

/** Only the clipboard write behind "Copy npub" is granted; everything else (camera, geolocation…) is refused. */
export function allowPermission(permission: string): boolean {
  return permission === 'clipboard-sanitized-write';
}

/**
 * IPC is answered only when it comes from the top-level frame of our window showing our own
 * renderer file: not from a subframe, not after a (blocked) navigation, not from another page.
 */
export function isTrustedSender(sender: { url: string; isTopFrame: boolean } | null | undefined, rendererUrl: string): boolean {
  if (!sender || !sender.isTopFrame) return false;
  const withoutFragment = sender.url.split('#')[0]!.split('?')[0]!;
  return withoutFragment === rendererUrl;
}

/** Requests the renderer may make in Electron: its own files and devtools; never the network. */
export function isAllowedRequestUrl(url: string): boolean {
  return url.startsWith('file://') || url.startsWith('devtools://') || url.startsWith('data:');
}
