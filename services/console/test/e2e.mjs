// End-to-end test of the web console in headless Chromium (Debian's
// chromium, driven by playwright-core), against a running system: the
// broker serving the page, eco-ingest, eco-detect, eco-dispatch, eco-report
// and PostgreSQL. tests/integration/console_test.sh sets it up and runs it.
//
// Environment:
//   E2E_URL            the console's address
//   E2E_DISPATCHER     user:password of a dispatcher
//   E2E_DEPT_A         user:password of a department person (E2E_DEPT_A_CODE)
//   E2E_DEPT_B         user:password of another department (E2E_DEPT_B_CODE)
//   E2E_PSQL_DSN       a DSN to check the database against (read access)
//   E2E_INCIDENT       a shell command: a reading far over its limit at E2E_SITE
//   E2E_SITE           the site of that incident (in department A's area)
//   E2E_SHOTS          directory for the screenshots
//   E2E_CHROMIUM       the browser (default /usr/bin/chromium)
// Exit 0 when every check passed; each check prints one line.
import { chromium } from 'playwright-core';
import { execFileSync } from 'node:child_process';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const env = (k) => {
    const v = process.env[k];
    if (!v) throw new Error(`${k} is not set`);
    return v;
};
const cred = (k) => {
    const v = env(k);
    const i = v.indexOf(':');
    return { user: v.slice(0, i), password: v.slice(i + 1) };
};
const URL = env('E2E_URL');
const DISP = cred('E2E_DISPATCHER');
const DA = cred('E2E_DEPT_A');
const DB = cred('E2E_DEPT_B');
const DA_CODE = env('E2E_DEPT_A_CODE');
const DB_CODE = env('E2E_DEPT_B_CODE');
const SITE = env('E2E_SITE');
const SHOTS = env('E2E_SHOTS');
mkdirSync(SHOTS, { recursive: true });

let failed = false;
const pass = (m) => console.log(`PASS: ${m}`);
function fail(m) {
    console.log(`FAIL: ${m}`);
    failed = true;
    throw new Error(m);
}
const check = (cond, m) => (cond ? pass(m) : fail(m));

function sql(q) {
    return execFileSync('psql', ['-XAtq', '-v', 'ON_ERROR_STOP=1', '-d', env('E2E_PSQL_DSN'), '-c', q],
                        { encoding: 'utf8' }).trim();
}

async function until(what, fn, ms = 30000) {
    const t0 = Date.now();
    let last;
    while (Date.now() - t0 < ms) {
        last = await fn();
        if (last) return last;
        await new Promise((r) => setTimeout(r, 250));
    }
    fail(`${what}: not within ${ms / 1000} s (last: ${JSON.stringify(last)})`);
}

const errors = [];
async function open(browser, who, viewport) {
    const ctx = await browser.newContext({ viewport });
    const page = await ctx.newPage();
    page.on('pageerror', (e) => errors.push(`${who.user}: ${e.message}`));
    page.on('console', (m) => { if (m.type() === 'error') errors.push(`${who.user}: ${m.text()}`); });
    await page.goto(URL);
    return page;
}

async function signIn(page, who) {
    await page.fill('#login-user', who.user);
    await page.fill('#login-password', who.password);
    await page.click('#login-go');
    await page.waitForSelector('#main:not([hidden])', { timeout: 15000 });
    // the role eco-dispatch knows this person by
    await until(`${who.user}'s role shown`, async () => (await page.textContent('#who')).includes('·'));
    // what this page receives, by topic: the broker's ACL at work
    await page.evaluate(() => {
        window.__topics = [];
        eco.mq.subscribeRaw('eco/v1/#', (t) => window.__topics.push(t));
    });
}

async function board(page) {
    await page.click('button[data-tab=board]');
    await page.waitForSelector('#board .col', { timeout: 15000 });
}

const state = (id) => sql(`SELECT state || ' ' || coalesce(dept, '-') FROM wo.work_order WHERE id = ${id}`);

async function closeOrder(page) {
    if (await page.isHidden('#order')) return;
    await page.click('#order .close');
    await page.waitForSelector('#order', { state: 'hidden' });
}

async function act(page, id, action, note, extra) {
    await closeOrder(page);
    const card = page.locator(`#board .card[data-order="${id}"]`);
    // a card drawn anew between press and release is not clicked, for a
    // user as for the test: act on the board once it shows the stored state
    await until(`order ${id}'s card up to date`, async () =>
        (await card.getAttribute('data-state')) === state(id).split(' ')[0]);
    await card.click();
    await page.waitForSelector(`#order .sheet[data-order="${id}"]`);
    if (extra) await extra();
    if (note) await page.fill('#order-note', note);
    await page.click(`#order button[data-action="${action}"]`);
}

const browser = await chromium.launch({
    executablePath: process.env.E2E_CHROMIUM || '/usr/bin/chromium',
    args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
try {
    // ---- sign-in ---------------------------------------------------------
    const d = await open(browser, DISP, { width: 1400, height: 900 });
    await d.fill('#login-user', DISP.user);
    await d.fill('#login-password', `${DISP.password}-wrong`);
    await d.click('#login-go');
    await until('a wrong password refused', async () => /refused/.test(await d.textContent('#login-error')));
    check(await d.isHidden('#main'), 'a wrong password is refused and the console stays closed');
    const html = await d.content();
    check(!html.includes(DISP.password) && !html.includes(DA.password),
          'the page holds no password');
    await signIn(d, DISP);
    check((await d.textContent('#who')).includes('dispatcher'), 'the dispatcher signs in with the broker account');

    // ---- the map -----------------------------------------------------------
    const regions = Number(sql('SELECT count(*) FROM core.region'));
    const sites = Number(sql('SELECT count(*) FROM rpt.map_site'));
    await until('the region and sea polygons drawn',
                async () => (await d.locator('path.region').count()) === regions);
    check((await d.locator('path.region.sea').count()) > 0, `the base map: ${regions} regions, sea areas among them`);
    await until('every site drawn', async () => (await d.locator('path.site').count()) === sites);
    pass(`the map shows all ${sites} sites of the sample network`);

    // ---- an incident: alarm, then order, live --------------------------------
    const alarmsBefore = Number(sql(`SELECT coalesce(max(id), 0) FROM alarm.alarm`));
    execFileSync('sh', ['-c', env('E2E_INCIDENT')], { stdio: 'inherit' });
    const li = d.locator(`#alarms li[data-site="${SITE}"]`);
    await until(`an alarm at ${SITE} in the list`, async () => (await li.count()) > 0);
    const alarmId = Number(await li.first().getAttribute('data-alarm'));
    check(alarmId > alarmsBefore && sql(`SELECT state FROM alarm.alarm WHERE id = ${alarmId}`) === 'open',
          `the incident shows up live as alarm ${alarmId} (open in the database)`);
    check((await d.locator('path.alarm-ring').count()) > 0, 'the alarm is ringed on the map');
    const id = Number(await until('the alarm\'s work order', async () =>
        sql(`SELECT min(work_order) FROM wo.order_alarm WHERE alarm = ${alarmId}`) || null));
    await board(d);
    await until(`order ${id} on the dispatcher's board`,
                async () => (await d.locator(`#board .card[data-order="${id}"]`).count()) === 1);
    check(state(id) === `dispatched ${DA_CODE}`, `then as order ${id}, dispatched to ${DA_CODE}`);
    check(/due in|overdue/.test(await d.textContent(`#board .card[data-order="${id}"] .due`)),
          'the card counts down to its deadline');
    // a card pressed while the board is read again (every order event reads
    // it) still opens on release
    {
        const c = d.locator(`#board .card[data-order="${id}"]`);
        await c.hover();
        await d.mouse.down();
        await d.evaluate(() => eco.board.load());
        await d.mouse.up();
        await d.waitForSelector(`#order .sheet[data-order="${id}"]`, { timeout: 5000 });
        pass('a card pressed while the board is read again opens on release');
        await closeOrder(d);
    }

    // ---- the departments ---------------------------------------------------
    const a = await open(browser, DA, { width: 390, height: 844 }); // a phone
    await signIn(a, DA);
    await board(a);
    await until(`order ${id} on ${DA_CODE}'s board`,
                async () => (await a.locator(`#board .card[data-order="${id}"]`).count()) === 1);
    const b = await open(browser, DB, { width: 1280, height: 800 });
    await signIn(b, DB);
    await board(b);
    check((await b.locator(`#board .card[data-order="${id}"]`).count()) === 0,
          `${DB_CODE} does not see ${DA_CODE}'s order`);
    const refused = await b.evaluate((n) => eco.mq.request('dispatch', 'wo.show', { id: n })
        .then(() => 'shown', (e) => e.message), id);
    check(refused === `no work order ${id}`, `and eco-dispatch refuses to show it to ${DB_CODE}: "${refused}"`);
    check(await a.evaluate(() => document.documentElement.scrollWidth <= window.innerWidth + 1),
          'the board fits a phone-sized screen');

    // ---- the loop, step by step in the pages --------------------------------
    await act(d, id, 'assign', 'at sea: the marine department', async () => {
        await d.selectOption('#order-dept', DB_CODE);
    });
    await until('re-routed in the database', async () => state(id) === `dispatched ${DB_CODE}`);
    pass(`the dispatcher re-routes order ${id} to ${DB_CODE} in the page`);
    await until(`order ${id} on ${DB_CODE}'s board`,
                async () => (await b.locator(`#board .card[data-order="${id}"]`).count()) === 1);
    pass(`${DB_CODE} sees it arrive`);
    await board(a);
    await until(`order ${id} gone from ${DA_CODE}'s board`,
                async () => (await a.locator(`#board .card[data-order="${id}"]`).count()) === 0);
    pass(`${DA_CODE} no longer sees it`);

    for (const [action, want, note] of [['accept', 'accepted', null], ['start', 'in_progress', null],
                                        ['reply', 'replied', 'unlicensed boiler burning coal; ordered to stop']]) {
        await until(`order ${id} ready for ${action}`, async () =>
            (await b.locator(`#board .card[data-order="${id}"]`).getAttribute('data-state')) !== null);
        await act(b, id, action, note);
        await until(`${action} stored`, async () => state(id) === `${want} ${DB_CODE}`);
        pass(`${DB_CODE} acts: ${action} → ${want} in the database`);
        await closeOrder(b);
        await until(`${DB_CODE}'s board shows ${want}`, async () =>
            (await b.locator(`#board .card[data-order="${id}"]`).getAttribute('data-state')) === want);
    }
    for (const [action, want] of [['verify', 'verified'], ['close', 'closed']]) {
        await until(`the dispatcher's board shows order ${id} ready to ${action}`, async () =>
            (await d.locator(`#board .card[data-order="${id}"]`).count()) === 1);
        await act(d, id, action, null);
        await until(`${action} stored`, async () => state(id) === `${want} ${DB_CODE}`);
        pass(`the dispatcher acts: ${action} → ${want} in the database`);
    }
    const actors = sql(`SELECT string_agg(action || ':' || actor, ' ' ORDER BY id) FROM wo.event WHERE work_order = ${id}`);
    check(actors.includes(`accept:${DB.user}`) && actors.includes(`close:${DISP.user}`),
          `every step recorded with the person who took it (${actors})`);

    // ---- a new order from the page -------------------------------------------
    await closeOrder(d);
    const title = `oil sheen at the ferry pier ${Date.now()}`;
    await d.click('#board-new');
    await d.fill('#create input[name=title]', title);
    await d.selectOption('#create select[name=category]', 'water');
    await d.selectOption('#create select[name=priority]', '2');
    await d.fill('#create input[name=lat]', '30.01');
    await d.fill('#create input[name=lon]', '122.10');
    await d.selectOption('#create select[name=dept]', DA_CODE);
    await d.fill('#create textarea[name=text]', 'reported by the harbour master');
    await d.click('#create button[type=submit]');
    const id2 = Number(await until('the new order stored', async () =>
        sql(`SELECT id FROM wo.work_order WHERE title = '${title}'`) || null));
    check(state(id2) === `dispatched ${DA_CODE}` &&
          sql(`SELECT priority || ' ' || category FROM wo.work_order WHERE id = ${id2}`) === '2 water',
          `the dispatcher creates order ${id2} in the page, dispatched to ${DA_CODE} with priority 2`);
    await until(`order ${id2} live on ${DA_CODE}'s board`,
                async () => (await a.locator(`#board .card[data-order="${id2}"]`).count()) === 1);
    pass(`${DA_CODE} sees it arrive`);
    await b.click('button[data-tab=board]');
    await until(`${DB_CODE}'s board read again`, async () => (await b.locator('#board .col').count()) > 0);
    check((await b.locator(`#board .card[data-order="${id2}"]`).count()) === 0, `${DB_CODE} does not`);

    // ---- what each page received ---------------------------------------------
    const ta = await a.evaluate(() => window.__topics);
    const tb = await b.evaluate(() => window.__topics);
    const wo = (ts, code) => ts.filter((t) => t.startsWith(`eco/v1/wo/${code}/`)).length;
    check(wo(ta, DA_CODE) > 0 && wo(ta, DB_CODE) === 0 && wo(tb, DB_CODE) > 0 && wo(tb, DA_CODE) === 0,
          `the broker delivered each department its own order events only (${DA_CODE}: ${wo(ta, DA_CODE)} ` +
          `of its own, ${wo(ta, DB_CODE)} of ${DB_CODE}; ${DB_CODE}: ${wo(tb, DB_CODE)} of its own, ` +
          `${wo(tb, DA_CODE)} of ${DA_CODE})`);
    check(!ta.some((t) => /^eco\/v1\/(alarm|complaint)\//.test(t) ||
                          /^eco\/v1\/report\/layerz?\/(orders|alarms|sites|departments)$/.test(t)) &&
          ta.includes('eco/v1/report/layerz/stations'),
          `${DA_CODE} received no alarms, complaints or layers with other departments' alarms and orders ` +
          `(its map: the stations layer; it received ${[...new Set(ta.filter((t) => /^eco\/v1\/(report|alarm|complaint)\//.test(t)))].join(' ')})`);
    await a.screenshot({ path: join(SHOTS, 'console-phone.png') });

    // ---- the map screenshot, with a site's recent values ---------------------
    await closeOrder(d);
    await d.screenshot({ path: join(SHOTS, 'console-board.png') });
    await d.click('button[data-tab=map]');
    await d.evaluate((s) => eco.map.select(s), SITE);
    await until('the site\'s chart', async () => (await d.locator('#site svg.chart path.line').count()) === 1, 20000);
    pass(`clicking ${SITE} shows its recent values as a chart`);
    if (sql(`SELECT state FROM alarm.alarm WHERE id = ${alarmId}`) === 'open') {
        await d.click(`#site button[data-ack="${alarmId}"]`);
        await until('the alarm acknowledged', async () =>
            sql(`SELECT state || ' ' || acked_by FROM alarm.alarm WHERE id = ${alarmId}`) === `acked ${DISP.user}`);
        pass(`the dispatcher acknowledges alarm ${alarmId} in the site's panel, in the database as ${DISP.user}`);
    } else {
        fail(`alarm ${alarmId} is no longer open: ${sql(`SELECT state FROM alarm.alarm WHERE id = ${alarmId}`)}`);
    }
    const hidden = await d.evaluate(() => {
        // no site in view lies under a region or sea polygon
        const map = document.getElementById('map').getBoundingClientRect();
        let n = 0, under = 0;
        for (const el of document.querySelectorAll('path.site')) {
            const r = el.getBoundingClientRect();
            const x = r.x + r.width / 2, y = r.y + r.height / 2;
            if (x < map.left || x > map.right || y < map.top || y > map.bottom) continue;
            n++;
            const top = document.elementFromPoint(x, y);
            if (top && top.classList.contains('region')) under++;
        }
        return [n, under];
    });
    check(hidden[0] > 0 && hidden[1] === 0, `the sites are drawn above the base map (${hidden[0]} in view)`);
    await d.screenshot({ path: join(SHOTS, 'console-map.png') });
    check(errors.length === 0, `no errors in the pages${errors.length ? ': ' + errors.join('; ') : ''}`);
} catch (e) {
    if (!failed) console.log(`FAIL: ${e.message}`);
    failed = true;
} finally {
    await browser.close();
}
process.exit(failed ? 1 : 0);
