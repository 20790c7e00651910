// Per-profile settings, kept as JSON in the profile directory and validated with the contract's
// schema on every read and write, so a hand-edited or stale file cannot feed bad values in.
import { join } from 'node:path';
import { Settings, SettingsPatch, describeIssues, type Settings as SettingsValue } from '../shared/contract';
import { readFileIfExists, writeFileAtomic } from './files';

export const DEFAULT_SETTINGS: SettingsValue = {
  useEmbedded: true,
  worldUrl: 'ws://127.0.0.1:3000',
  databaseName: 'world',
  controlUrl: 'http://127.0.0.1:8787',
  displayName: '',
  nostrFallback: false,
  relays: [],
  editorEnabled: false,
};

export type SettingsUpdate = { ok: true; settings: SettingsValue } | { ok: false; message: string };

export class SettingsStore {
  readonly path: string;
  #current: SettingsValue;
  #writes: Promise<void> = Promise.resolve();

  private constructor(path: string, current: SettingsValue) {
    this.path = path;
    this.#current = current;
  }

  /** Opens the profile's settings; a missing file gives the defaults, a damaged one is reported. */
  static async open(profileDir: string, defaults: Partial<SettingsValue> = {}): Promise<SettingsStore> {
    const path = join(profileDir, 'settings.json');
    const base = { ...DEFAULT_SETTINGS, ...defaults };
    const raw = await readFileIfExists(path);
    if (raw === undefined) return new SettingsStore(path, base);
    let json: unknown;
    try {
      json = JSON.parse(raw.toString('utf8'));
    } catch {
      throw new Error(`settings file ${path} is not valid JSON; fix or delete it`);
    }
    // Fields added in later versions fall back to their defaults.
    const parsed = Settings.safeParse({ ...base, ...(json as object) });
    if (!parsed.success) throw new Error(`settings file ${path} is invalid: ${describeIssues(parsed.error)}`);
    return new SettingsStore(path, parsed.data);
  }

  get(): SettingsValue {
    return { ...this.#current, relays: [...this.#current.relays] };
  }

  async update(patch: unknown): Promise<SettingsUpdate> {
    const parsedPatch = SettingsPatch.safeParse(patch);
    if (!parsedPatch.success) return { ok: false, message: describeIssues(parsedPatch.error) };
    const next = Settings.safeParse({ ...this.#current, ...parsedPatch.data });
    if (!next.success) return { ok: false, message: describeIssues(next.error) };
    this.#current = next.data;
    const snapshot = JSON.stringify(next.data, null, 2);
    this.#writes = this.#writes.then(() => writeFileAtomic(this.path, snapshot));
    await this.#writes;
    return { ok: true, settings: this.get() };
  }
}
