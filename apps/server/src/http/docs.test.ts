import { existsSync } from 'node:fs';
import { type Browser, chromium } from 'playwright-core';
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

describe('GET /docs', () => {
  it('renders the API reference with the operations listed, from local assets only', async () => {
    const page = await browser.newPage();
    const offsite: string[] = [];
    // What the Content-Security-Policy blocked, as Chromium reports it on the console.
    const blocked: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy/i.test(message.text())) blocked.push(message.text());
    });
    page.on('request', (request) => {
      if (!request.url().startsWith(baseUrl) && !request.url().startsWith('data:')) {
        offsite.push(request.url());
      }
    });
    const response = await page.goto(`${baseUrl}/docs`);
    expect(response?.headers()['content-security-policy']).toContain("frame-ancestors 'none'");
    expect(response?.headers()['x-frame-options']).toBe('DENY');
    const operation = page.locator('.opblock-summary-path', { hasText: '/system/info' });
    await operation.first().waitFor({ timeout: 20_000 });
    expect(await page.locator('.opblock').count()).toBeGreaterThan(0);
    await expect(page.title()).resolves.toMatch(/swagger|personas/i);
    expect(offsite).toEqual([]);
    expect(blocked).toEqual([]);
    await page.close();
  });

  it('cannot be framed by another page', async () => {
    const page = await browser.newPage();
    const blocked: string[] = [];
    page.on('console', (message) => {
      if (/frame-ancestors|X-Frame-Options/i.test(message.text())) blocked.push(message.text());
    });
    await page.goto(`${baseUrl}/healthz`);
    await page.setContent(`<iframe src="${baseUrl}/docs"></iframe>`);
    await expect.poll(() => blocked.length, { timeout: 20_000, interval: 100 }).toBeGreaterThan(0);
    const framed = page.frames().find((frame) => frame.url().startsWith(`${baseUrl}/docs`));
    expect(await framed?.locator('.opblock').count()).toBeFalsy();
    await page.close();
  });
});
