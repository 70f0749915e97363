// Swagger UI's "Try it out" with the examples it pre-fills, in a real browser on a fresh server:
// register, log in, authorize with the token, list personas — each answered 200.
import { existsSync } from 'node:fs';
import { type Browser, chromium, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestApp, type TestApp } from '../test-support/test-app';

const CHROMIUM = '/usr/bin/chromium';

let t: TestApp;
let browser: Browser;
let baseUrl: string;

beforeAll(async () => {
  if (!existsSync(CHROMIUM)) {
    throw new Error(`${CHROMIUM} is missing: apt-get install -y chromium (.ci/run does this)`);
  }
  t = await startTestApp();
  baseUrl = await t.app.http.listen({ host: '127.0.0.1', port: 0 });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});
afterAll(async () => {
  await browser?.close();
  await t?.[Symbol.asyncDispose]();
});

/** Opens an operation, presses "Try it out" and "Execute", and returns the live answer. */
async function tryItOut(page: Page, id: string): Promise<{ status: string; body: string }> {
  const block = page.locator(`#${id}`);
  await block.locator('.opblock-summary').first().click();
  await block.locator('button.try-out__btn').click();
  await block.locator('button.execute').click();
  const live = block.locator('.live-responses-table .response').first();
  await live.waitFor({ timeout: 20_000 });
  return {
    status: ((await live.locator('.response-col_status').textContent()) ?? '').trim(),
    body: (await live.locator('.response-col_description pre').first().textContent()) ?? '',
  };
}

describe('/docs "Try it out" with the pre-filled examples', () => {
  it('registers, logs in and lists personas on a fresh server', async () => {
    const page = await browser.newPage();
    await page.goto(`${baseUrl}/docs`);
    await page.locator('#operations-auth-auth-register').waitFor({ timeout: 20_000 });

    const registered = await tryItOut(page, 'operations-auth-auth-register');
    expect(registered.status, registered.body).toBe('200');
    const loggedIn = await tryItOut(page, 'operations-auth-auth-login');
    expect(loggedIn.status, loggedIn.body).toBe('200');
    const { token } = JSON.parse(loggedIn.body) as { token: string };

    await page.locator('button.authorize').first().click();
    await page.locator('.auth-container input').first().fill(token);
    await page.locator('.auth-btn-wrapper button.authorize').click();
    await page.locator('.auth-btn-wrapper button.btn-done').click();

    const personas = await tryItOut(page, 'operations-personas-personas-list');
    expect(personas.status, personas.body).toBe('200');
    expect(JSON.parse(personas.body)).toHaveProperty('personas');
    await page.close();
  }, 120_000);
});
