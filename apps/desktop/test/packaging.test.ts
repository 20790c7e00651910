// electron-builder's config: the standard targets per platform, and a package that holds exactly
// the built app (the main bundle is self-contained, so no node_modules ship).
import { readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, expect, it } from 'vitest';

const appDir = resolve(import.meta.dirname, '..');
const config = JSON.parse(readFileSync(join(appDir, 'electron-builder.json'), 'utf8'));
const pkg = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8'));
const build = readFileSync(join(appDir, 'scripts', 'build.ts'), 'utf8');

describe('electron-builder config', () => {
  it('builds AppImage and deb on Linux and the standard targets elsewhere', () => {
    expect(config.linux.target).toEqual(expect.arrayContaining(['AppImage', 'deb']));
    expect(config.mac.target).toEqual(expect.arrayContaining(['dmg']));
    expect(config.win.target).toEqual(expect.arrayContaining(['nsis']));
    expect(config.appId).toMatch(/^[a-z0-9-]+(\.[a-z0-9-]+)+$/);
  });

  it('starts the bundle the build writes, and packs the built renderer without the web-mode shim', () => {
    expect(config.extraMetadata.main).toBe(pkg.main);
    expect(pkg.main).toBe('dist/electron/main.mjs');
    expect(build).toContain("join(dist, 'electron', 'main.mjs')");
    expect(build).toContain("join(dist, 'electron', 'preload.cjs')");
    expect(config.files).toEqual(expect.arrayContaining(['dist/electron/**/*', 'dist/renderer/**/*', '!dist/renderer/web-bridge.js', '!node_modules/**/*']));
    expect(config.asar).toBe(true);
  });
});
