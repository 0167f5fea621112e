import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import puppeteer, { type Browser, type Page } from 'puppeteer-core';
import { aliceWeb, getOnce, hostWithAdmin } from '../helpers/admin.js';
import { connect } from '../../src/index.js';
import { useWorkspace } from '../helpers/workspace.js';

const CHROMIUM = process.env.P2PRC_CHROMIUM ?? '/usr/bin/chromium';
const ARTIFACTS = path.resolve('test/artifacts');
const hasChromium = existsSync(CHROMIUM);
if (!hasChromium)
  console.warn(
    `dashboard browser test skipped: no chromium at ${CHROMIUM} (apt-get install chromium, or set P2PRC_CHROMIUM)`,
  );

const { tempDir, defer } = useWorkspace();

async function browser(): Promise<Browser> {
  const b = await puppeteer.launch({
    executablePath: CHROMIUM,
    headless: true,
    userDataDir: tempDir('chromium'),
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
    protocolTimeout: 30_000,
  });
  defer(() => b.close());
  return b;
}

/** The text of a cell in the tunnel's row, as a person reads it. */
function cellText(page: Page, tunnel: string, selector: string): Promise<string | undefined> {
  return page.evaluate(
    (t, s) => document.querySelector(`#tunnels tr[data-tunnel="${t}"] ${s}`)?.textContent ?? undefined,
    tunnel,
    selector,
  );
}

describe.skipIf(!hasChromium)(`dashboard in a real browser (${CHROMIUM})`, () => {
  it('shows the tunnel with its public port, a visitor count that rises, and refusals', async () => {
    const { h, admin } = await hostWithAdmin();
    const { t } = await aliceWeb(h);

    const page = await (await browser()).newPage();
    await page.setViewport({ width: 1400, height: 800 });
    // Without the token a person sees the prompt, not the data.
    await page.goto(admin.url, { waitUntil: 'load' });
    expect(await page.$('#token')).not.toBeNull();
    expect(await page.$('#tunnels')).toBeNull();

    // The printed link carries the token in the fragment (never sent to the server).
    await page.goto(`${admin.url}?interval=250#token=${encodeURIComponent(h.token)}`, { waitUntil: 'load' });
    await page.waitForSelector('#tunnels tr[data-tunnel="web"]', { timeout: 20_000 });
    expect(page.url()).not.toContain(h.token);
    const row = await page.$eval('#tunnels tr[data-tunnel="web"]', (tr) =>
      [...tr.querySelectorAll('td')].map((td) => td.textContent),
    );
    expect(row.slice(0, 3)).toEqual(['web', 'alice', String(t.remotePort)]);
    expect(await cellText(page, 'web', '.visitors-total')).toBe('0');
    expect(await page.$eval('#clients tbody', (b) => b.textContent)).toContain('alice');

    for (let i = 0; i < 3; i++) await getOnce(t.remotePort, `/page${i}`);
    await page.waitForFunction(
      () => document.querySelector('#tunnels tr[data-tunnel="web"] .visitors-total')?.textContent === '3',
      { timeout: 20_000 },
    );

    const bad = connect({
      host: '127.0.0.1',
      port: h.port,
      token: 'wrong',
      fingerprint: h.fingerprint,
      tunnels: [{ name: 'x', localPort: 1 }],
      exitOnLoginFailure: true,
    });
    defer(() => bad.close());
    await expect(bad.ready).rejects.toMatchObject({ code: 'E_AUTH' });
    await page.waitForFunction(
      () => /auth\s*127\.0\.0\.1:\d+/.test(document.querySelector('#refusals tbody')?.textContent ?? ''),
      { timeout: 20_000 },
    );
    expect(await page.$eval('#status', (s) => s.className)).toBe('');

    mkdirSync(ARTIFACTS, { recursive: true });
    const shot = path.join(ARTIFACTS, 'dashboard.png');
    await page.screenshot({ path: shot, fullPage: true });
    console.log(`dashboard screenshot: ${shot}`);
    expect(existsSync(shot)).toBe(true);
  });
});
