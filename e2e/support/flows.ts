// UI steps the specs share, written the way a person uses the app.
import { expect, type Page } from '@playwright/test';

/** Creates a new identity: reads the seed words shown, then types back the asked positions. */
export async function onboardWithNewSeed(page: Page, label: string): Promise<string[]> {
  await page.getByTestId('account-label').fill(label);
  await page.getByTestId('create-identity').click();
  await expect(page.getByTestId('seed-words').locator('li')).toHaveCount(12);
  const words = await page.getByTestId('seed-words').locator('li').allInnerTexts();
  const seed = words.map((w) => w.replace(/^\s*\d+\s*/, '').trim());
  expect(seed).toHaveLength(12);
  await page.getByTestId('seed-written').click();
  for (const input of await page.locator('[data-testid^="confirm-word-"]').all()) {
    const position = Number((await input.getAttribute('data-testid'))!.replace('confirm-word-', ''));
    await input.fill(seed[position - 1]!);
  }
  await page.getByTestId('confirm-backup').click();
  await expect(page.getByTestId('whoami')).toHaveText(label);
  return seed;
}

export async function onboardByImport(page: Page, label: string, mnemonic: string): Promise<void> {
  await page.getByTestId('account-label').fill(label);
  await page.getByTestId('import-identity').click();
  await page.getByTestId('import-mnemonic').fill(mnemonic);
  await page.getByTestId('import-submit').click();
  await expect(page.getByTestId('whoami')).toHaveText(label);
}

export async function expectConnected(page: Page): Promise<void> {
  await expect(page.getByTestId('connection')).toHaveAttribute('data-status', 'connected', { timeout: 30_000 });
}

export function peer(page: Page, name: string) {
  return page.locator(`[data-testid="peer"][data-name="${name}"]`);
}

export async function messageBodies(page: Page): Promise<string[]> {
  return page.getByTestId('message-body').allInnerTexts();
}
