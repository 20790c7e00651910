// Two autopilots (A and B) in two windows with separate profiles against one embedded world, and a
// third party (C) that must see nothing of their private channel. Steps run in order and share
// state; each saves screenshots under e2e/artifacts/.
import { test, expect } from '@playwright/test';
import { AppInstance, EmbeddedWorldProcess, closeBrowser, freshDir } from '../support/harness';
import { expectConnected, messageBodies, onboardByImport, onboardWithNewSeed, peer } from '../support/flows';

test.describe.configure({ mode: 'serial' });

// A fixed, valid BIP-39 phrase for the import path (B), so its identity is known in advance.
const B_SEED = 'abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon abandon about';

let world: EmbeddedWorldProcess;
let a: AppInstance;
let b: AppInstance;
let c: AppInstance;

test.beforeAll(async () => {
  world = await EmbeddedWorldProcess.start(freshDir('e2e-two-world-'), { peer: false });
  const profiles = freshDir('e2e-two-profiles-');
  [a, b, c] = await Promise.all([
    AppInstance.launch('alice', world.endpoints, profiles),
    AppInstance.launch('bob', world.endpoints, profiles),
    AppInstance.launch('carol', world.endpoints, profiles),
  ]);
});

test.afterAll(async () => {
  await Promise.all([a?.stop(), b?.stop(), c?.stop()]);
  await closeBrowser();
  await world?.stop();
});

test('both onboard and each sees the other present', async () => {
  await onboardWithNewSeed(a.page, 'Alice');
  await onboardByImport(b.page, 'Bob', B_SEED);
  await Promise.all([expectConnected(a.page), expectConnected(b.page)]);
  await expect(peer(a.page, 'Bob')).toHaveAttribute('data-status', 'online');
  await expect(peer(b.page, 'Alice')).toHaveAttribute('data-status', 'online');
  await a.shot('10-presence');
  await b.shot('10-presence');
});

test('A opens a private channel with B and they exchange messages in order', async () => {
  await peer(a.page, 'Bob').getByTestId('message-peer').click();
  await expect(a.page.getByTestId('channel-view')).toBeVisible();
  for (const text of ['hi Bob', 'are you there?', 'third from Alice']) {
    await a.page.getByTestId('composer').fill(text);
    await a.page.getByTestId('send').click();
  }
  // B gets the channel with three unread messages, opens it, and the count clears.
  const channelAtB = b.page.getByTestId('channel').first();
  await expect(channelAtB.getByTestId('unread')).toHaveText('3');
  await b.shot('11-unread');
  await channelAtB.click();
  await expect(b.page.getByTestId('message-body')).toHaveText(['hi Bob', 'are you there?', 'third from Alice']);
  await expect(channelAtB.getByTestId('unread')).toHaveCount(0);
  for (const text of ['yes, here', 'reply two from Bob']) {
    await b.page.getByTestId('composer').fill(text);
    await b.page.getByTestId('send').click();
  }
  const expected = ['hi Bob', 'are you there?', 'third from Alice', 'yes, here', 'reply two from Bob'];
  await expect(a.page.getByTestId('message-body')).toHaveText(expected);
  await expect(b.page.getByTestId('message-body')).toHaveText(expected);
  const seqs = await a.page.getByTestId('message').evaluateAll((items) => items.map((li) => li.getAttribute('data-seq')));
  expect(seqs).toEqual(['1', '2', '3', '4', '5']);
  await a.shot('12-conversation');
  await b.shot('12-conversation');
});

test('a third party sees neither the channel nor its messages', async () => {
  await onboardWithNewSeed(c.page, 'Carol');
  await expectConnected(c.page);
  await expect(peer(c.page, 'Alice')).toBeVisible();
  await expect(peer(c.page, 'Bob')).toBeVisible();
  await expect(c.page.getByTestId('channel')).toHaveCount(0);
  await expect(c.page.getByTestId('message')).toHaveCount(0);
  await c.shot('13-third-party');
});

test('A creates a workspace, invites B, and they talk in a workspace channel C never sees', async () => {
  await a.page.getByTestId('new-workspace').click();
  await a.page.getByTestId('workspace-name').fill('Rocket team');
  await a.page.getByTestId('workspace-slug').fill('rocket-team');
  await a.page.getByTestId('workspace-create').click();
  const workspaceAtA = a.page.locator('[data-testid="workspace"][data-slug="rocket-team"]');
  await expect(workspaceAtA).toContainText('1 member · owner');
  await workspaceAtA.getByTestId('workspace-invite').selectOption({ label: 'Bob' });
  await expect(workspaceAtA).toContainText('2 members');
  await expect(b.page.locator('[data-testid="workspace"][data-slug="rocket-team"]')).toContainText('editor');

  await a.page.getByTestId('new-channel').click();
  await a.page.getByTestId('new-channel-name').fill('launch-plan');
  await a.page.getByTestId('new-channel-where').selectOption({ label: 'Workspace: Rocket team' });
  // Only members can be picked for a workspace channel: Carol is not offered.
  await expect(a.page.getByTestId('new-channel-peer')).toHaveCount(1);
  await a.page.locator('[data-testid="new-channel-peer"][data-name="Bob"] input').check();
  await a.page.getByTestId('new-channel-open').click();
  await expect(a.page.getByTestId('channel-view')).toHaveAttribute('data-channel', 'launch-plan');
  await a.page.getByTestId('composer').fill('T minus 10');
  await a.page.getByTestId('send').click();

  const atB = b.page.locator('[data-testid="channel"][data-name="launch-plan"]');
  await expect(atB).toContainText('Rocket team');
  await atB.click();
  await expect(b.page.getByTestId('message-body')).toHaveText(['T minus 10']);
  await a.shot('14-workspace-channel');
  await b.shot('14-workspace-channel');
  await expect(c.page.getByTestId('channel')).toHaveCount(0);
  await expect(c.page.getByTestId('workspace')).toHaveCount(0);
});

test('B advertises, A requests compute, B accepts and completes, A sees the result', async () => {
  await b.page.getByTestId('tab-compute').click();
  await b.page.getByTestId('ad-tools').fill('shell, git');
  await b.page.getByTestId('ad-models').fill('local-7b');
  await b.page.getByTestId('ad-classes').fill('gpu.small');
  await b.page.getByTestId('ad-price').fill('250');
  await b.page.getByTestId('ad-save').click();
  await expect(b.page.getByTestId('own-ad-state')).toHaveText('advertised');

  await a.page.getByTestId('tab-compute').click();
  const adAtA = a.page.locator('[data-testid="peer-ad"][data-provider="Bob"]');
  await expect(adAtA).toContainText('gpu.small');
  await expect(adAtA).toContainText('250 msats/job');
  await adAtA.getByTestId('request-compute').click();
  await adAtA.getByTestId('request-job').fill('summarise the repo README');
  await adAtA.getByTestId('request-submit').click();
  const atA = a.page.locator('[data-testid="compute-request"][data-role="requester"]');
  await expect(atA.getByTestId('compute-status')).toHaveText('open');
  await a.shot('15-compute-requested');

  const atB = b.page.locator('[data-testid="compute-request"][data-role="provider"]');
  await expect(atB).toContainText('summarise the repo README');
  await b.shot('16-compute-offered');
  await atB.getByTestId('compute-accept').click();
  await expect(atB.getByTestId('compute-status')).toHaveText('assigned');
  await expect(atA.getByTestId('compute-status')).toHaveText('assigned');
  await atB.getByTestId('compute-result-input').fill('README: a realtime world for autopilots');
  await atB.getByTestId('compute-complete').click();

  await expect(atA.getByTestId('compute-status')).toHaveText('completed');
  await expect(atA.getByTestId('compute-result')).toHaveText('Result: README: a realtime world for autopilots');
  await a.shot('17-compute-result');
  await b.shot('17-compute-result');
});

test('the host restarts mid-conversation and both recover with nothing lost or doubled', async () => {
  for (const app of [a, b]) {
    await app.page.getByTestId('tab-comms').click();
    await app.page.getByTestId('channel').first().click();
  }
  await a.page.getByTestId('composer').fill('before the restart');
  await a.page.getByTestId('send').click();
  await expect(b.page.getByTestId('message-body').last()).toHaveText('before the restart');

  // Down for 6 s: past the 5 s after which the indicator says offline.
  const restarted = world.restartHost(6000);
  await expect(a.page.getByTestId('connection')).toHaveAttribute('data-status', /reconnecting|offline/);
  // Typed while the world is away: kept in the outbox and shown as pending.
  await a.page.getByTestId('composer').fill('sent while offline 1');
  await a.page.getByTestId('send').click();
  await a.page.getByTestId('composer').fill('sent while offline 2');
  await a.page.getByTestId('send').click();
  await b.page.getByTestId('composer').fill('bob while offline');
  await b.page.getByTestId('send').click();
  await expect(a.page.locator('[data-testid="message"][data-pending="true"]')).toHaveCount(2);
  await expect(a.page.getByTestId('connection')).toHaveAttribute('data-status', 'offline', { timeout: 10_000 });
  await expect(a.page.getByTestId('connection-reason')).not.toBeEmpty();
  await a.shot('18-offline');
  await restarted;

  await Promise.all([expectConnected(a.page), expectConnected(b.page)]);
  await expect(a.page.locator('[data-testid="message"][data-pending="true"]')).toHaveCount(0, { timeout: 30_000 });
  await expect(b.page.locator('[data-testid="message"][data-pending="true"]')).toHaveCount(0, { timeout: 30_000 });
  const expectedPrefix = ['hi Bob', 'are you there?', 'third from Alice', 'yes, here', 'reply two from Bob', 'before the restart'];
  for (const app of [a, b]) {
    await expect(app.page.getByTestId('message')).toHaveCount(9);
    const bodies = await messageBodies(app.page);
    expect(bodies.slice(0, 6)).toEqual(expectedPrefix);
    // A's two offline messages keep their order; B's may land before, between or after them.
    const tail = bodies.slice(6);
    expect(tail.filter((t) => t.startsWith('sent while offline'))).toEqual(['sent while offline 1', 'sent while offline 2']);
    expect(tail).toContain('bob while offline');
    expect(new Set(bodies).size).toBe(bodies.length);
    const seqs = await app.page.getByTestId('message').evaluateAll((items) => items.map((li) => Number(li.getAttribute('data-seq'))));
    expect(seqs).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9]);
  }
  expect(await messageBodies(a.page)).toEqual(await messageBodies(b.page));
  await a.shot('19-recovered');
  await b.shot('19-recovered');
});

test('settings survive an app restart', async () => {
  await a.page.getByTestId('tab-settings').click();
  await a.page.getByTestId('setting-nostr-fallback').check();
  await a.page.getByTestId('setting-relays').fill(`${world.endpoints.relayUrl}\nwss://relay.example.org`);
  await a.page.getByTestId('setting-display-name').fill('Alice A.');
  await a.page.getByTestId('setting-editor').check();
  await a.page.getByTestId('settings-save').click();
  await expect(a.page.getByTestId('settings-saved')).toBeVisible();
  await a.shot('20-settings');

  // A bad relay URL is refused with a reason, and the saved settings stay.
  await a.page.getByTestId('setting-relays').fill('http://not-a-relay');
  await a.page.getByTestId('settings-save').click();
  await expect(a.page.getByTestId('error-banner')).toContainText('relay URL');

  await a.restart();
  await expectConnected(a.page);
  await expect(a.page.getByTestId('whoami')).toHaveText('Alice A.');
  await a.page.getByTestId('tab-settings').click();
  await expect(a.page.getByTestId('setting-nostr-fallback')).toBeChecked();
  await expect(a.page.getByTestId('setting-editor')).toBeChecked();
  await expect(a.page.getByTestId('setting-relays')).toHaveValue(`${world.endpoints.relayUrl}\nwss://relay.example.org`);
  await expect(peer(b.page, 'Alice A.')).toHaveAttribute('data-status', 'online');
  await a.shot('21-settings-after-restart');
});
