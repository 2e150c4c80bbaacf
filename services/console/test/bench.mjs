// The console's hot paths in headless Chromium (bench/console.sh runs it):
// signing in and drawing every site of the retained sites layer, then a storm
// of alarm events drawn live. Prints one line of figures.
//
// Environment: BENCH_URL, BENCH_USER, BENCH_PASSWORD, BENCH_SITES (how many
// sites the layer has), BENCH_STORM (a shell command publishing the storm),
// BENCH_STORM_N (its alarms).
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';

const env = (k) => {
    if (!process.env[k]) throw new Error(`${k} is not set`);
    return process.env[k];
};
const sites = Number(env('BENCH_SITES'));
const stormN = Number(env('BENCH_STORM_N'));
const browser = await chromium.launch({ executablePath: process.env.E2E_CHROMIUM || '/usr/bin/chromium',
                                        args: ['--no-sandbox', '--disable-dev-shm-usage'] });
try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    const cdp = await page.context().newCDPSession(page);
    await page.goto(env('BENCH_URL'));
    await page.fill('#login-user', env('BENCH_USER'));
    await page.fill('#login-password', env('BENCH_PASSWORD'));
    const t0 = Date.now();
    await page.click('#login-go');
    await page.waitForSelector('#main:not([hidden])', { timeout: 20000 });
    const tIn = Date.now();
    await page.waitForFunction((n) => document.querySelectorAll('path.site').length === n, sites,
                               { timeout: 120000, polling: 50 });
    const tDrawn = Date.now();
    await cdp.send('HeapProfiler.collectGarbage');
    const heap = (await cdp.send('Runtime.getHeapUsage')).usedSize;

    const before = Number(await page.textContent('#alarm-count'));
    const t1 = Date.now();
    execFileSync('sh', ['-c', env('BENCH_STORM')]);
    const tSent = Date.now();
    await page.waitForFunction((n) => Number(document.getElementById('alarm-count').textContent) === n,
                               before + stormN, { timeout: 120000, polling: 20 });
    const tStorm = Date.now();
    console.log(`sites=${sites} sign_in_ms=${tIn - t0} sites_drawn_ms=${tDrawn - t0} ` +
                `heap_mb=${(heap / 1048576).toFixed(1)} storm=${stormN} storm_publish_ms=${tSent - t1} ` +
                `storm_shown_ms=${tStorm - t1}`);
} finally {
    await browser.close();
}
