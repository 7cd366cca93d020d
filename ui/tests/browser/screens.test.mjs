// Browser tests: every screen of the UI in Debian's Chromium (Playwright),
// with the Rust side replaced by the in-memory desk of fake-desk.ts. Each
// screen is driven by the keyboard alone (Tab to reach, Space or Enter to
// act; every stop must show its focus), checked by axe-core for WCAG 2.2 AA
// (no serious or critical violation), and checked for reflow at 200% zoom.
//
// Run: npm run test:browser (CHROMIUM=/path overrides /usr/bin/chromium).
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createServer } from 'vite';
import { chromium } from 'playwright-core';

const ui = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
const PASSPHRASE = 'correct horse battery staple';

let server;
let browser;
let base;

before(async () => {
  server = await createServer({
    root: ui,
    configFile: join(ui, 'vite.config.ts'),
    logLevel: 'error',
    server: { host: '127.0.0.1', port: 0, strictPort: false, hmr: false },
  });
  await server.listen();
  base = server.resolvedUrls.local[0].replace(/\/$/, '');
  browser = await chromium.launch({ executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium', args: ['--no-sandbox'] });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** A page on the harness, with the keyboard helpers the walks use. */
async function open(t, { desk = 'ready', width = 1280, height = 800 } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  t.after(async () => {
    await context.close();
    assert.deepEqual(errors, [], 'the page threw');
  });
  await page.goto(`${base}/tests/browser/harness.html?desk=${desk}`);
  await page.addScriptTag({ content: axeSource });

  const focused = () =>
    page.evaluate(() => {
      const el = document.activeElement;
      const style = el ? getComputedStyle(el) : null;
      return {
        id: el?.id ?? '',
        visible: !!style && ((style.outlineStyle !== 'none' && style.outlineWidth !== '0px') || style.boxShadow !== 'none'),
        html: el?.outerHTML.slice(0, 120) ?? '',
      };
    });

  const kb = {
    /** Tabs until `selector` has the focus; fails if Tab never gets there
     *  or if the focus is invisible at any stop on the way. */
    async reach(selector) {
      for (let i = 0; i < 120; i++) {
        const here = await page.evaluate((s) => document.activeElement?.matches(s) ?? false, selector);
        const f = await focused();
        if (i > 0 && f.html && !['BODY', 'MAIN'].some((tag) => f.html.startsWith(`<${tag.toLowerCase()}`))) {
          assert.ok(f.visible, `the focus on ${f.html} cannot be seen`);
        }
        if (here) return;
        await page.keyboard.press('Tab');
      }
      assert.fail(`Tab never reaches ${selector}`);
    },
    async press(selector, key = 'Enter') {
      await kb.reach(selector);
      await page.keyboard.press(key);
    },
    async check(selector) {
      await kb.press(selector, 'Space');
    },
    /** Chooses the `n`th radio of a group (arrow keys move and select). */
    async radio(id, n = 0) {
      await kb.reach(`#${id}, input[name="${id}"]:checked`);
      await page.keyboard.press('Space');
      for (let i = 0; i < n; i++) await page.keyboard.press('ArrowDown');
    },
    async type(selector, text) {
      await kb.reach(selector);
      await page.keyboard.type(text);
    },
  };

  /** axe-core on the whole page: no serious or critical WCAG 2.2 AA
   *  violation; and no horizontal scrolling (reflow at 200% zoom). */
  async function audit(name) {
    const result = await page.evaluate(() =>
      // @ts-expect-error axe is injected
      window.axe.run(document, { runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'] }),
    );
    const bad = result.violations
      .filter((v) => v.impact === 'serious' || v.impact === 'critical')
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`);
    assert.deepEqual(bad, [], `${name}: accessibility violations`);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - document.documentElement.clientWidth);
    assert.ok(overflow <= 0, `${name}: the page scrolls sideways by ${overflow}px at ${width}px wide`);
    audited.push(name);
  }
  const audited = [];
  return { page, kb, audit, audited };
}

const text = (page, selector) => page.locator(selector).innerText();

test('every command the UI calls is answered by the fake desk', () => {
  const client = readFileSync(join(ui, 'src', 'lib', 'api.ts'), 'utf8');
  const used = [...client.matchAll(/invoke<[^>]*>\('([a-z_]+)'/g)].map((m) => m[1]).sort();
  const fake = readFileSync(join(ui, 'tests', 'browser', 'fake-desk.ts'), 'utf8');
  const answered = [...fake.matchAll(/^ {2}([a-z_]+): \(/gm)].map((m) => m[1]).sort();
  assert.ok(used.length > 20);
  assert.deepEqual(answered, used);
});

for (const width of [1280, 640]) {
  const zoom = width === 1280 ? '' : ' (200% zoom)';

  test(`first run, by keyboard alone${zoom}`, async (t) => {
    const { page, kb, audit } = await open(t, { desk: 'new', width, height: width / 1.6 });
    await page.locator('#centre-name').waitFor();
    await audit('first run');
    await kb.press('#set-up');
    await page.locator('.error-summary').waitFor();
    assert.equal(await page.evaluate(() => document.activeElement?.closest('.error-summary') !== null), true, 'the error summary takes the focus');
    await audit('first run, with errors');
    await kb.type('#centre-name', 'Castle Point CVS');
    await kb.type('#centre-code', 'CP');
    await kb.type('#coordinator', 'Chris');
    await kb.type('#passphrase', PASSPHRASE);
    await kb.type('#passphrase-again', PASSPHRASE);
    await kb.press('#set-up');
    await page.locator('#recovery-code').waitFor();
    await audit('recovery code');
    await kb.press('#recovery-continue');
    await page.locator('.error-summary').waitFor();
    await kb.check('#stored');
    await kb.press('#recovery-continue');
    await page.locator('#new-report').waitFor();
    await audit('home, new desk');
    assert.match(await text(page, 'header'), /Castle Point CVS/);
  });

  test(`unlock, a whole report, submit${zoom}`, async (t) => {
    const { page, kb, audit } = await open(t, { width, height: width / 1.6 });
    await page.locator('#unlock').waitFor();
    await audit('unlock');
    await kb.radio('user', 0);
    await kb.type('#passphrase', 'not the passphrase');
    await kb.press('#unlock');
    await page.locator('.error-summary').getByText(/not right/).waitFor();
    await audit('unlock, wrong passphrase');
    await page.locator('#passphrase').fill('');
    await kb.type('#passphrase', PASSPHRASE);
    await kb.press('#unlock');
    await page.locator('#new-report').waitFor();
    assert.equal(await text(page, '#count-waiting'), '1');
    assert.equal(await text(page, '#count-delivered'), '1');
    await audit('home');

    await kb.press('#new-report');
    await page.locator('#f-reporter_role').waitFor();
    const step = (title) => page.locator('#step-title').getByText(title).waitFor();
    await audit('report: who');
    await kb.press('#continue');
    await page.locator('.error-summary').waitFor();
    await audit('report: who, with errors');
    await kb.radio('f-reporter_role', 0);
    await page.locator('#save-state').getByText(/Saved/).waitFor();
    await kb.press('#continue');

    await step(/What happened/);
    await audit('report: what');
    await kb.check('#f-incident_types');
    await kb.type('#f-description', 'Shouted at in the street.');
    await kb.press('#continue');

    await step(/When and where/);
    await kb.type('#f-occurred_on', '2');
    await kb.type('#f-occurred_on-month', '11');
    await kb.type('#f-occurred_on-year', '2026');
    await kb.radio('f-location_type', 0);
    await audit('report: when and where');
    await kb.press('#continue');

    await step(/targeted/);
    await kb.check('#f-strands');
    await audit('report: why');
    await kb.press('#continue');

    await step(/details/);
    await kb.radio('f-anonymous', 0);
    await audit('report: the person');
    await kb.press('#continue');

    await step(/Consent/);
    await kb.press('#continue');
    await page.locator('.error-summary a').first().waitFor();
    await audit('report: consent, with errors');
    // The summary links to each field: following one puts the focus there.
    await page.locator('.error-summary a').first().focus();
    await page.keyboard.press('Enter');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'f-consent-pass_to_police');
    await kb.radio('f-consent-pass_to_police', 2);
    await kb.radio('f-consent-police_may_contact', 1);
    await kb.radio('f-consent-refer_to_support', 1);
    await kb.press('#continue');

    await step(/Check the report/);
    await page.locator('main').getByText('Shouted at in the street.').waitFor();
    await audit('report: review');
    await kb.press('#submit-report');
    await page.locator('#reference').waitFor();
    assert.match(await text(page, '#reference'), /^CP-/);
    await audit('submitted');
    await kb.press('#home');
    await page.locator('#count-waiting').getByText('2').waitFor();

    // Sync now: the status line follows the worker's events.
    await kb.press('#sync-now');
    await page.locator('#count-delivered').getByText('3').waitFor();
    await page.locator('#count-waiting').getByText('0').waitFor();

    // The worker reports every pass; Home rereads its lists only when they change.
    const listings = () => page.evaluate(() => window.fakeDesk.calls.filter((c) => c === 'list_reports').length);
    const before = await listings();
    await page.evaluate(() => window.fakeDesk.announce({ connection: 'syncing' }));
    await page.locator('#sync-status').getByText('Sending…').waitFor();
    await page.evaluate(() => window.fakeDesk.announce({ connection: 'offline' }));
    await page.locator('#sync-status').getByText(/^Offline\./).waitFor();
    assert.equal(await listings(), before, 'a status with the same counts rereads nothing');
  });

  test(`settings, summaries, lock and quick-hide${zoom}`, async (t) => {
    const { page, kb, audit } = await open(t, { width, height: width / 1.6 });
    await page.locator('#unlock').waitFor();
    await kb.radio('user', 0);
    await kb.type('#passphrase', PASSPHRASE);
    await kb.press('#unlock');
    await page.locator('#new-report').waitFor();

    await kb.press('.header__nav button:nth-child(3)');
    await page.locator('#fingerprint').waitFor();
    assert.match(await text(page, '#fingerprint'), /^[0-9A-F]{4}( [0-9A-F]{4}){4}$/);
    await audit('settings');
    await kb.type('#new-user', 'Jo');
    await kb.type('#new-passphrase', 'another long passphrase');
    await kb.press('#add-user');
    await page.locator('#settings-message').waitFor();
    await audit('settings, user added');

    await kb.press('.header__nav button:nth-child(2)');
    await page.locator('#reports-taken').waitFor();
    assert.match(await text(page, '#reports-taken'), /41/);
    assert.match(await text(page, 'main'), /<5/);
    await audit('summaries');
    // An export is of what is on screen, even once the form has changed.
    await page.locator('#threshold').fill('');
    await kb.type('#threshold', '3');
    await kb.press('#export-csv');
    await page.waitForFunction(() => window.fakeDesk.exports.length === 1);
    const [exported] = await page.evaluate(() => window.fakeDesk.exports);
    assert.equal(exported.format, 'csv');
    assert.equal(exported.period.threshold, 5);
    // The quarter before this one, chosen by keyboard, is what is shown.
    await kb.reach('#which');
    await page.keyboard.press('ArrowDown');
    await kb.press('#show-summary');
    const now = new Date();
    const q = Math.floor(now.getMonth() / 3) * 3 - 3;
    const long = (d) => d.toLocaleDateString('en-GB', { day: 'numeric', month: 'long', year: 'numeric' });
    const expected = `From ${long(new Date(now.getFullYear(), q, 1))} to ${long(new Date(now.getFullYear(), q + 3, 0))}`;
    await page.locator('#shown-period').getByText(expected).waitFor();
    await audit('summaries, the quarter before');

    await kb.press('#lock');
    await page.locator('#unlock').waitFor();
    await page.keyboard.press('Escape');
    await page.keyboard.press('Escape');
    await page.locator('#hidden').waitFor();
    assert.doesNotMatch(await text(page, 'body'), /HIRC|report|Chris/i, 'the neutral screen shows nothing of the desk');
    await audit('quick-hide');
  });
}

test('a report set aside: Home says so, a coordinator retries or discards it, asked twice in the page', async (t) => {
  const { page, kb, audit } = await open(t, { desk: 'aside' });
  await page.locator('#unlock').waitFor();
  await kb.radio('user', 0);
  await kb.type('#passphrase', PASSPHRASE);
  await kb.press('#unlock');
  await page.locator('#set-aside-notice').waitFor();
  assert.match(await text(page, '#set-aside-notice'), /1 report\(s\) could not be read/);

  await kb.press('.header__nav button:nth-child(3)');
  await page.locator('#set-aside').waitFor();
  assert.match(await text(page, '#set-aside'), /CP-7K2Q-4M/);
  await audit('settings, a report set aside');
  const id = await page.evaluate(() => document.querySelector('#set-aside [id^="retry-"]').id.slice('retry-'.length));
  // Still damaged: the error says so and it stays.
  await kb.press(`#retry-${id}`);
  await page.locator('#settings-error').waitFor();
  assert.equal(await page.locator(`#retry-${id}`).count(), 1);
  // Discard asks first, in the page; "Keep it" keeps it.
  await kb.press(`#discard-${id}`);
  await page.locator(`#discard-cancel-${id}`).waitFor();
  await audit('settings, discard asked');
  await kb.press(`#discard-cancel-${id}`);
  await page.locator(`#retry-${id}`).waitFor();
  await kb.press(`#discard-${id}`);
  await kb.press(`#discard-confirm-${id}`);
  await page.locator('#settings-message').waitFor();
  assert.equal(await page.locator('#set-aside').count(), 0);
  assert.deepEqual(
    (await page.evaluate(() => window.fakeDesk.calls)).filter((c) => c.endsWith('set_aside')),
    ['retry_set_aside', 'discard_set_aside'],
  );
});

test('Home lists the latest ten of many reports, and counts them all', async (t) => {
  const { page, kb, audit } = await open(t, { desk: 'busy' });
  await page.locator('#unlock').waitFor();
  await kb.radio('user', 0);
  await kb.type('#passphrase', PASSPHRASE);
  await kb.press('#unlock');
  await page.locator('#count-delivered').getByText('26').waitFor();
  const shown = await page.locator('[aria-labelledby="delivered-title"] li').allInnerTexts();
  assert.equal(shown.length, 10);
  assert.match(shown[0], /^CP-3H8D-9X/, 'the most recent first');
  assert.match(shown[1], /^CP-1024-ZZ/);
  assert.match(shown[9], /^CP-1016-ZZ/);
  assert.match(await text(page, '#delivered-more'), /latest 10 of 26/);
  await audit('home, busy');
});

test('Urdu: right to left, every screen still passes', async (t) => {
  const { page, kb, audit } = await open(t);
  await page.locator('#unlock').waitFor();
  await page.locator('#language').selectOption('ur');
  assert.equal(await page.evaluate(() => document.documentElement.dir), 'rtl');
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'ur');
  await audit('unlock (ur)');
  await kb.radio('user', 0);
  await kb.type('#passphrase', PASSPHRASE);
  await kb.press('#unlock');
  await page.locator('#new-report').waitFor();
  await audit('home (ur)');
  await kb.press('#new-report');
  await page.locator('#f-reporter_role').waitFor();
  await kb.press('#continue');
  await page.locator('.error-summary').waitFor();
  await audit('report with errors (ur)');
  // The closed lists are worded in Urdu too (not the engine's English).
  assert.doesNotMatch(await text(page, 'main'), /Victim|Witness/);
});

test('Polish: the whole desk in Polish', async (t) => {
  const { page, kb, audit } = await open(t);
  await page.locator('#unlock').waitFor();
  await page.locator('#language').selectOption('pl');
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'pl');
  await audit('unlock (pl)');
  await kb.radio('user', 0);
  await kb.type('#passphrase', PASSPHRASE);
  await kb.press('#unlock');
  await page.locator('#new-report').getByText('Nowe zgłoszenie').waitFor();
  await audit('home (pl)');

  // Summaries: the engine's English labels are shown in Polish.
  await kb.press('.header__nav button:nth-child(2)');
  await page.locator('#reports-taken').waitFor();
  const main = await text(page, 'main');
  assert.match(main, /Według przesłanki/);
  assert.match(main, /Rasa lub pochodzenie etniczne/);
  assert.match(main, /wrzesień 2026/i);
  assert.doesNotMatch(main, /By strand|Race or ethnicity|September|By who reported|Not recorded|Distinct reports/);
  await audit('summaries (pl)');
});
