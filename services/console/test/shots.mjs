// Screenshots for docs/CONSOLE.md from a running quick start:
//   . DIR/quickstart.env; node test/shots.mjs OUTDIR
import { chromium } from 'playwright-core';
const out = process.argv[2] || '.';
const browser = await chromium.launch({ executablePath: process.env.E2E_CHROMIUM || '/usr/bin/chromium',
                                        args: ['--no-sandbox'] });
async function signIn(user, password, viewport) {
    const page = await browser.newPage({ viewport });
    await page.goto(process.env.ECO_CONSOLE_URL);
    await page.fill('#login-user', user);
    await page.fill('#login-password', password);
    await page.click('#login-go');
    await page.waitForSelector('#main:not([hidden])');
    await page.waitForFunction(() => document.querySelectorAll('path.site').length > 0);
    return page;
}
const d = await signIn('qs-dispatcher', process.env.ECO_QS_DISPATCHER_PASSWORD, { width: 1400, height: 860 });
await d.evaluate(() => eco.map.select('air-dh01'));
await d.waitForSelector('#site svg.chart');
await d.waitForTimeout(1500);
await d.screenshot({ path: `${out}/console-map.png` });
await d.click('button[data-tab=board]');
await d.waitForSelector('#board .card');
await d.screenshot({ path: `${out}/console-board.png` });
await d.click('#board .card[data-state=in_progress]');
await d.waitForSelector('#order .sheet[data-order]');
await d.screenshot({ path: `${out}/console-order.png` });
const a = await signIn('qs-department', process.env.ECO_QS_DEPARTMENT_PASSWORD, { width: 390, height: 800 });
await a.click('button[data-tab=board]');
await a.waitForSelector('#board .card');
await a.screenshot({ path: `${out}/console-phone.png` });
await browser.close();
