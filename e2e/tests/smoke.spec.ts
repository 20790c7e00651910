// One app in web mode: the shell loads under its CSP, shows the connection state, onboards a new
// identity with the backup check, and connects to the embedded world where the resident peer is.
import { test, expect } from '@playwright/test';
import { WebSocket } from 'ws';
import { AppInstance, EmbeddedWorldProcess, closeBrowser, freshDir } from '../support/harness';
import { expectConnected, onboardWithNewSeed, peer } from '../support/flows';

let world: EmbeddedWorldProcess;
let app: AppInstance;
let seed: string[] = [];

test.beforeAll(async () => {
  world = await EmbeddedWorldProcess.start(freshDir('e2e-smoke-world-'));
  app = await AppInstance.launch('solo', world.endpoints, freshDir('e2e-smoke-profiles-'));
});

test.afterAll(async () => {
  await app?.stop();
  await closeBrowser();
  await world?.stop();
});

test('onboarding with a backup check, then connected with the resident peer present', async () => {
  const page = app.page;
  // Nothing the page asks for is missing.
  const failed: string[] = [];
  page.on('response', (response) => {
    if (response.status() >= 400) failed.push(`${response.status()} ${new URL(response.url()).pathname}`);
  });
  await expect(page.getByTestId('onboarding')).toBeVisible();
  await expect(page.getByTestId('connection')).toHaveAttribute('data-status', 'signed_out');
  await app.shot('01-smoke-onboarding');

  // A wrong word at a confirmation position is refused, and nothing is saved.
  await page.getByTestId('account-label').fill('Solo');
  await page.getByTestId('create-identity').click();
  await app.shot('02-smoke-seed-words');
  await page.getByTestId('seed-written').click();
  for (const input of await page.locator('[data-testid^="confirm-word-"]').all()) await input.fill('wrongword');
  await page.getByTestId('confirm-backup').click();
  await expect(page.getByTestId('onboarding-error')).toContainText('does not match');
  await app.shot('03-smoke-backup-mismatch');

  // Start over properly.
  await page.reload();
  seed = await onboardWithNewSeed(page, 'Solo');
  await expectConnected(page);
  await expect(peer(page, 'Resident autopilot')).toHaveAttribute('data-status', 'online');
  await expect(peer(page, 'Solo')).toBeVisible();
  await app.shot('04-smoke-connected');
  expect(failed).toEqual([]);
  // A browser asks for /favicon.ico unless the page declares an icon: it declares one, and it loads.
  const icon = await page.locator('link[rel="icon"]').getAttribute('href');
  expect(icon).toBeTruthy();
  const iconResponse = await page.request.get(new URL(icon!, page.url()).href);
  expect(iconResponse.status()).toBe(200);
  expect(iconResponse.headers()['content-type']).toBe('image/svg+xml');
});

test('web mode refuses a bridge socket without the session token or from another origin', async () => {
  const origin = new URL(app.page.url()).origin;
  const attempt = (protocols: string[], headers: Record<string, string>) =>
    new Promise<string>((resolve) => {
      const ws = new WebSocket(`${origin.replace('http', 'ws')}/bridge`, protocols, { headers });
      ws.on('open', () => {
        ws.close();
        resolve('open');
      });
      ws.on('unexpected-response', (_req, res) => resolve(String(res.statusCode)));
      ws.on('error', () => resolve('error'));
    });
  expect(await attempt(['autopilot-bridge', 'token.0123456789abcdef0123456789abcdef'], { origin })).toBe('401');
  expect(await attempt(['autopilot-bridge'], { origin: 'http://evil.example' })).toBe('403');
  const response = await app.page.request.get(origin);
  expect(response.headers()['content-security-policy']).toContain("script-src 'self'");
  expect(response.headers()['content-security-policy']).not.toContain('unsafe');
});

test('a newcomer messages the resident peer and gets its compute result', async () => {
  const page = app.page;
  await peer(page, 'Resident autopilot').getByTestId('message-peer').click();
  await expect(page.getByTestId('channel-view')).toBeVisible();
  await page.getByTestId('composer').fill('hello resident');
  await page.getByTestId('send').click();
  await expect(page.getByTestId('message-body')).toHaveText(['hello resident', /^Resident autopilot received "hello resident"/]);
  await app.shot('05-smoke-peer-echo');

  await page.getByTestId('tab-compute').click();
  const ad = page.locator('[data-testid="peer-ad"][data-provider="Resident autopilot"]');
  await ad.getByTestId('request-compute').click();
  await ad.getByTestId('request-job').fill('count these four words');
  await ad.getByTestId('request-submit').click();
  const request = page.locator('[data-testid="compute-request"][data-role="requester"]');
  await expect(request.getByTestId('compute-status')).toHaveText('completed');
  await expect(request.getByTestId('compute-result')).toHaveText('Result: 4 words, 22 chars, reversed "sdrow ruof eseht tnuoc"');
  await app.shot('06-smoke-peer-compute');
});

test('the composer keeps text it cannot send and says why', async () => {
  const page = app.page;
  await page.getByTestId('tab-comms').click();
  await peer(page, 'Resident autopilot').getByTestId('message-peer').click();
  const before = await page.getByTestId('message').count();
  const huge = 'x'.repeat(100 * 1024);
  await page.getByTestId('composer').fill(huge);
  await expect(page.getByTestId('composer-error')).toContainText('102,400 characters; the limit is 16,384');
  await expect(page.getByTestId('composer-count')).toHaveText('102,400 / 16,384');
  await expect(page.getByTestId('send')).toBeDisabled();
  // Enter does not send it either, and the text is still all there.
  await page.getByTestId('composer').press('Enter');
  expect((await page.getByTestId('composer').inputValue()).length).toBe(100 * 1024);
  await expect(page.getByTestId('message')).toHaveCount(before);
  await app.shot('06b-smoke-composer-too-long');
  // Cut to the limit, it goes.
  await page.getByTestId('composer').fill('y'.repeat(16 * 1024));
  await expect(page.getByTestId('composer-error')).toHaveCount(0);
  await page.getByTestId('send').click();
  await expect(page.getByTestId('composer')).toHaveValue('');
  await expect(page.getByTestId('message-body').nth(before)).toHaveText('y'.repeat(16 * 1024));
});

test('identity details: npub to copy, the backup words on request, and a second account', async () => {
  const page = app.page;
  await page.getByTestId('tab-identity').click();
  await expect(page.getByTestId('npub')).toContainText('npub1');
  const npub = (await page.getByTestId('npub').innerText()).split(/\s/)[0]!;
  expect(npub).toMatch(/^npub1[02-9ac-hj-np-z]{58}$/);
  await page.getByTestId('copy-npub').click();
  await expect(page.getByTestId('copy-npub')).toHaveText('Copied');
  expect(await page.evaluate(() => navigator.clipboard.readText())).toBe(npub);
  // The seed phrase is shown only after a warning that says what it is, and a second click.
  await page.getByTestId('reveal-backup').click();
  await expect(page.getByTestId('reveal-warning')).toContainText('Anyone who has them controls it');
  await expect(page.getByTestId('backup-words')).toHaveCount(0);
  await app.shot('07-smoke-reveal-warning');
  await page.getByTestId('reveal-cancel').click();
  await expect(page.getByTestId('reveal-warning')).toHaveCount(0);
  await expect(page.getByTestId('backup-words')).toHaveCount(0);
  await page.getByTestId('reveal-backup').click();
  await page.getByTestId('reveal-confirm').click();
  await expect(page.getByTestId('backup-words').locator('li')).toHaveCount(12);
  const words = (await page.getByTestId('backup-words').locator('li').allInnerTexts()).map((w) => w.replace(/^\s*\d+\s*/, '').trim());
  expect(words).toEqual(seed);
  await app.shot('07-smoke-identity');

  // A second account from the same seed at NIP-06 account index 1 is a different identity.
  await page.getByTestId('add-account').click();
  await page.getByTestId('account-label').fill('Solo work');
  await page.getByTestId('import-identity').click();
  await page.getByTestId('import-mnemonic').fill(seed.join(' '));
  await page.getByTestId('import-account').fill('1');
  await page.getByTestId('import-submit').click();
  await expect(page.getByTestId('whoami')).toHaveText('Solo work');
  await expectConnected(page);
  await page.getByTestId('tab-identity').click();
  await expect(page.getByTestId('accounts').locator('li')).toHaveCount(2);
  await expect(page.getByTestId('npub')).toContainText('npub1');
  await expect(page.getByTestId('npub')).not.toContainText(npub);
  await app.shot('08-smoke-two-accounts');
});
