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
async function open(t, { desk = 'ready', width = 1280, height = 800, query = '' } = {}) {
  const context = await browser.newContext({ viewport: { width, height } });
  const page = await context.newPage();
  const errors = [];
  page.on('pageerror', (e) => errors.push(e.message));
  // The app's web view shows no browser dialog (confirm() returns at once
  // there): the UI must never rely on one.
  page.on('dialog', (d) => {
    errors.push(`a browser dialog was opened: ${d.message()}`);
    void d.dismiss();
  });
  t.after(async () => {
    await context.close();
    assert.deepEqual(errors, [], 'the page threw');
  });
  await page.goto(`${base}/tests/browser/harness.html?desk=${desk}${query}`);
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
  // The generated bindings name every command the Rust side has.
  const client = readFileSync(join(ui, 'src', 'lib', 'bindings.ts'), 'utf8');
  const used = [...client.matchAll(/__TAURI_INVOKE<[^(]*>\("([a-z_]+)"/g)].map((m) => m[1]).sort();
  const fake = readFileSync(join(ui, 'tests', 'browser', 'fake-desk.ts'), 'utf8');
  const answered = [...fake.matchAll(/^ {2}([a-z_]+): (?:async )?\(/gm)].map((m) => m[1]).sort();
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
    // The lists arrive after the page: waited for, not assumed.
    await page.locator('#count-waiting').getByText('1', { exact: true }).waitFor();
    await page.locator('#count-delivered').getByText('1', { exact: true }).waitFor();
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
    // Not going to the police: whether they may make contact is settled
    // (No), not asked.
    assert.equal(await page.locator('#f-consent-police_may_contact').count(), 0);
    await kb.radio('f-consent-refer_to_support', 1);
    await kb.press('#continue');

    // Evidence is never required: Continue goes on without any.
    await step(/Evidence/);
    await audit('report: evidence');
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
    // The longer auto-lock time while a report is open.
    await page.locator('#interview-lock').fill('');
    await kb.type('#interview-lock', '25');
    await kb.press('#save-settings');
    await page.waitForFunction(() => window.fakeDesk.state().settings?.interview_lock_minutes === 25);

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
    assert.equal(exported.language, 'en', 'an English screen exports in English');
    // In Polish the coordinator may choose the export's language: English
    // for the partnership by default, or the interface's.
    await page.locator('#language').selectOption('pl');
    assert.equal(await page.locator('#export-language').isChecked(), true);
    await page.locator('#export-language-1').check();
    await kb.press('#export-pdf');
    await page.waitForFunction(() => window.fakeDesk.exports.length === 2);
    const second = (await page.evaluate(() => window.fakeDesk.exports))[1];
    assert.deepEqual([second.format, second.language], ['pdf', 'pl']);
    await page.locator('#language').selectOption('en');
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
  assert.match(await text(page, '#set-aside'), /CP-7K2Q-4F/);
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

/** Unlocks as the first user, by keyboard. */
async function signIn(page, kb) {
  await page.locator('#unlock').waitFor();
  await kb.radio('user', 0);
  await kb.type('#passphrase', PASSPHRASE);
  await kb.press('#unlock');
  await page.locator('#new-report').waitFor();
}

/** The step the form shows (its key: who, what, when, why, person, consent, review). */
const onStep = (page, key) => page.locator(`#step-title[data-step="${key}"]`).waitFor();
/** The draft being typed, as the fake desk holds it. */
const saved = (page) => page.evaluate(() => window.fakeDesk.state().reports.filter((r) => r.state === 'draft').at(-1)?.report);

/** Sets up a new desk (the first-run form), by keyboard. */
async function setUpDesk(kb) {
  await kb.type('#centre-name', 'Castle Point CVS');
  await kb.type('#centre-code', 'CP');
  await kb.type('#coordinator', 'Chris');
  await kb.type('#passphrase', PASSPHRASE);
  await kb.type('#passphrase-again', PASSPHRASE);
  await kb.press('#set-up');
}

/** From Home, a new report taken to its second step ("What happened"). */
async function startReport(page, kb) {
  await kb.press('#new-report');
  await kb.radio('f-reporter_role', 0);
  await kb.press('#continue');
  await onStep(page, 'what');
}

test('after an error summary, every keystroke lands where it was typed', async (t) => {
  const { page, kb } = await open(t);
  await signIn(page, kb);
  await startReport(page, kb);
  await kb.press('#continue');
  await page.locator('.error-summary').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.closest('.error-summary') !== null), true, 'Continue puts the focus on the summary');
  // Each keystroke changes the list of errors (the description stops being
  // missing at the first one): the focus must stay in the box.
  await kb.type('#f-description', 'Shouted at in the street.');
  assert.equal(await page.locator('#f-description').inputValue(), 'Shouted at in the street.');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'f-description');
  await kb.check('#f-incident_types');
  await kb.press('#continue');
  await onStep(page, 'when');
  await kb.press('#continue');
  await page.locator('.error-summary').waitFor();
  await kb.type('#f-occurred_on', '31');
  await kb.type('#f-occurred_on-month', '10');
  await kb.type('#f-occurred_on-year', '2026');
  await kb.type('#f-occurred_time', '17:30');
  assert.equal(await page.locator('#f-occurred_on').inputValue(), '31');
  assert.equal(await page.locator('#f-occurred_time').inputValue(), '17:30');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'f-occurred_time');
  await page.waitForFunction(() => window.fakeDesk.state().reports.at(-1).report.occurred_time === '17:30');
  const report = await saved(page);
  assert.equal(report.occurred_on, '2026-10-31');
  assert.equal(report.description, 'Shouted at in the street.');
});

test('times and dates as people write them; a message at the field, and the answers still saved', async (t) => {
  const { page, kb, audit } = await open(t);
  await signIn(page, kb);
  await kb.press('#new-report');
  await kb.radio('f-reporter_role', 0);
  await kb.press('#continue');
  await kb.check('#f-incident_types');
  await kb.type('#f-description', 'Shouted at.');
  await kb.press('#continue');
  await onStep(page, 'when');
  // A whole date typed into the day box fills all three; a month by name.
  await kb.type('#f-occurred_on', '27/3/26');
  assert.equal(await page.locator('#f-occurred_on-month').inputValue(), '3');
  await page.waitForFunction(() => window.fakeDesk.state().reports.at(-1).report.occurred_on === '2026-03-27');
  await page.locator('#f-occurred_on-month').fill('');
  await kb.type('#f-occurred_on-month', 'April');
  await page.waitForFunction(() => window.fakeDesk.state().reports.at(-1).report.occurred_on === '2026-04-27');
  await kb.type('#f-occurred_time', '5.30pm');
  await page.waitForFunction(() => window.fakeDesk.state().reports.at(-1).report.occurred_time === '17:30');
  assert.doesNotMatch(await text(page, 'main'), /Could not save|occurred_time|HH:MM/);
  await page.keyboard.press('Tab');
  assert.equal(await page.locator('#f-occurred_time').inputValue(), '17:30', 'the time is shown as it is kept once the box is left');
  // Something that cannot be read: said at the field when it is left, in
  // words; the rest stays saved and the tick says so.
  await page.locator('#f-occurred_time').fill('');
  await kb.type('#f-occurred_time', '5');
  assert.equal(await page.locator('#f-occurred_time-error').count(), 0, 'not while typing');
  await page.keyboard.press('Tab');
  assert.match(await text(page, '#f-occurred_time-error'), /17:30 or 5\.30pm/);
  assert.match(await text(page, '#save-state'), /Saved/);
  await audit('report: a time that cannot be read');
  await kb.radio('f-location_type', 0);
  // Enter inside the box (which never leaves it): the time is not dropped.
  await page.locator('#f-occurred_time').fill('');
  await kb.type('#f-occurred_time', '5.30');
  await page.keyboard.press('Enter');
  await page.locator('.error-summary').getByText(/17:30 or 5\.30pm/).waitFor();
  assert.equal(await page.locator('#step-title').getAttribute('data-step'), 'when', 'Continue waits for a time it can read');
  await page.locator('#f-occurred_time').fill('');
  await kb.type('#f-occurred_time', '5am');
  await page.locator('#f-occurred_time-error').waitFor({ state: 'detached' });
  await kb.press('#continue');
  await onStep(page, 'why');
  assert.equal((await saved(page)).occurred_time, '05:00');
});

test('follow-up questions show only when they apply', async (t) => {
  const { page, kb } = await open(t);
  await signIn(page, kb);
  await startReport(page, kb);
  assert.equal(await page.locator('#f-medical_treatment').count(), 0, 'no treatment question before anyone is hurt');
  assert.equal(await page.locator('#f-witness_details').count(), 0);
  await kb.radio('f-injury', 1); // minor
  await page.locator('#f-medical_treatment').waitFor();
  await kb.radio('f-medical_treatment', 0); // yes
  await kb.reach('input[name="f-injury"]:checked');
  await page.keyboard.press('ArrowUp'); // none: the question goes
  await page.locator('#f-medical_treatment').waitFor({ state: 'detached' });
  await page.waitForFunction(() => !('medical_treatment' in window.fakeDesk.state().reports.at(-1).report));
  await page.keyboard.press('ArrowDown'); // minor again: the answer comes back with it
  await page.locator('#f-medical_treatment').waitFor();
  assert.equal(await page.locator('#f-medical_treatment').isChecked(), true);
  await page.waitForFunction(() => window.fakeDesk.state().reports.at(-1).report.medical_treatment === true);
  await kb.radio('f-witnesses_present', 0); // yes
  await page.locator('#f-witness_details').waitFor();
});

test('deleting a draft is asked on a page of its own, and Cancel keeps it', async (t) => {
  const { page, kb, audit } = await open(t);
  await signIn(page, kb);
  assert.equal(await text(page, '#count-drafts'), '1');
  await kb.press('.draft__delete');
  await page.locator('#delete-title').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'delete-title');
  assert.match(await text(page, 'main'), /cannot be undone/);
  await audit('delete a draft: asked');
  await kb.press('#delete-cancel');
  await page.locator('#count-drafts').waitFor();
  assert.equal(await text(page, '#count-drafts'), '1', 'Cancel keeps the draft');
  assert.match(await page.evaluate(() => document.activeElement?.id ?? ''), /^delete-/, 'the focus goes back where it was');
  await kb.press('.draft__delete');
  await kb.press('#delete-confirm');
  await page.locator('#deleted-notice').waitFor();
  assert.equal(await text(page, '#count-drafts'), '0');
});

test('contact details are masked until shown; the check page folds them and reads answers back in Urdu, left to right where it must', async (t) => {
  const { page, kb, audit } = await open(t);
  await page.locator('#unlock').waitFor();
  await page.locator('#language').selectOption('ur');
  await signIn(page, kb);
  await kb.press('#new-report');
  await onStep(page, 'who');
  // The language the report is taken in is a choice, in the interface's language by default.
  assert.equal(await page.locator('#f-language_used').inputValue(), 'ur');
  await kb.radio('f-reporter_role', 0);
  await kb.press('#continue');
  await kb.check('#f-incident_types');
  await kb.type('#f-description', 'He shouted at me. Then he left.');
  assert.equal(await page.locator('#f-description').evaluate((e) => getComputedStyle(e).direction), 'ltr', 'English typed on an Urdu screen reads left to right');
  await kb.press('#continue');
  await onStep(page, 'when');
  await kb.type('#f-occurred_on', '27');
  await kb.type('#f-occurred_on-month', '3');
  await kb.type('#f-occurred_on-year', '2026');
  await kb.radio('f-location_type', 0);
  await kb.press('#continue');
  await onStep(page, 'why');
  await kb.check('#f-strands');
  await kb.press('#continue');
  await onStep(page, 'person');
  await kb.radio('f-anonymous', 1); // no: details follow
  await kb.type('#f-person-name', 'Amina Canary');
  await kb.type('#f-person-phone', '07700 900123');
  const security = (id) => page.locator(`#${id}`).evaluate((e) => getComputedStyle(e).webkitTextSecurity);
  assert.equal(await security('f-person-name'), 'disc', 'the name is masked as it is typed');
  assert.equal(await security('f-person-phone'), 'disc');
  assert.equal(await page.locator('#f-person-phone').evaluate((e) => getComputedStyle(e).direction), 'ltr');
  await kb.press('#f-person-phone-show');
  assert.equal(await security('f-person-phone'), 'none', 'Show shows it');
  assert.equal(await page.locator('#f-person-phone-show').getAttribute('aria-pressed'), 'true');
  await audit('report: the person, one detail shown (ur)');
  await kb.press('#continue');
  await onStep(page, 'consent');
  await kb.radio('f-consent-pass_to_police', 2);
  await kb.radio('f-consent-refer_to_support', 1);
  await kb.press('#continue');
  await onStep(page, 'evidence');
  await page.locator('#evidence-none').waitFor();
  await audit('report: evidence, none (ur)');
  await kb.press('#continue');
  await onStep(page, 'review');
  await page.locator('#review-evidence-none').waitFor();
  await audit('report: review (ur)');
  // The form itself: the support services after it are the centre's own
  // words (and web addresses), not the app's.
  const main = await text(page, 'main form');
  assert.doesNotMatch(main, /Amina|07700/, 'personal details are folded away from passers-by');
  for (const code of ['victim', 'verbal_abuse', 'street_or_public_place', '2026-03-27', 'Verbal abuse', 'Street or public place']) {
    assert.ok(!main.includes(code), `the check page shows the code or English "${code}"`);
  }
  assert.match(main, /27/);
  await kb.press('#review-personal summary', 'Enter');
  await page.locator('#answer-f-person-phone').waitFor();
  // The number as rendered: "07700" to the left of "900123", as written.
  const order = await page.locator('#answer-f-person-phone').evaluate((dd) => {
    const node = dd.querySelector('bdi').firstChild;
    const at = (from, to) => {
      const r = document.createRange();
      r.setStart(node, from);
      r.setEnd(node, to);
      return r.getBoundingClientRect().left;
    };
    return { first: at(0, 5), second: at(6, 12) };
  });
  assert.ok(order.first < order.second, `the phone number reads ${JSON.stringify(order)}: scrambled`);
  // The English description keeps its full stop at its end (on the right).
  const stop = await page.locator('#answer-f-description').evaluate((dd) => {
    const node = dd.querySelector('bdi').firstChild;
    const r = document.createRange();
    r.setStart(node, node.length - 1);
    r.setEnd(node, node.length);
    const word = document.createRange();
    word.setStart(node, node.length - 5);
    word.setEnd(node, node.length - 1);
    return { stop: r.getBoundingClientRect().left, word: word.getBoundingClientRect().left };
  });
  assert.ok(stop.stop > stop.word, 'the full stop jumped to the start of the line');

  // "Change" comes back to the check page.
  await kb.press('#change-what');
  await onStep(page, 'what');
  await kb.press('#continue');
  await onStep(page, 'review');
});

test('the desk warns before it locks; a key keeps it open; locked, it returns to the same step for the same person', async (t) => {
  // An auto-lock "minute" of 20 s, and one minute everywhere: the warning
  // shows after 10 s without a key (the test's time to press one, even on
  // a busy machine), and the desk locks at 20 s.
  const { page, kb } = await open(t, { query: '&minute=20000' });
  await page.locator('#unlock').waitFor();
  await page.evaluate(() => window.fakeDesk.setLocks(1, 1));
  await kb.radio('user', 1); // Ali, the second user
  await kb.type('#passphrase', PASSPHRASE);
  await kb.press('#unlock');
  await page.locator('#new-report').waitFor();
  await startReport(page, kb);
  await kb.type('#f-description', 'Listening');
  await page.locator('#lock-warning').waitFor({ timeout: 30_000 });
  assert.match(await text(page, '#lock-warning'), /locks in \d+ seconds?/);
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'f-description', 'the warning never takes the focus');
  await page.keyboard.type('!');
  await page.locator('#lock-warning').waitFor({ state: 'detached' });
  assert.equal(await page.locator('#f-description').inputValue(), 'Listening!', 'the key that keeps the desk open is not lost');
  // Nobody touches it again: the desk (not the page) locks.
  await page.locator('#unlock').waitFor({ timeout: 45_000 });
  assert.equal(await page.evaluate(() => window.fakeDesk.state().unlocked), null);
  assert.ok(!(await page.evaluate(() => window.fakeDesk.calls.includes('lock'))), 'the page locked the desk, not the desk itself');
  assert.equal(await page.locator('input[name="user"]:checked').getAttribute('id'), 'user-1', 'the last user is chosen already');
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'passphrase');
  await page.keyboard.type(PASSPHRASE);
  await page.keyboard.press('Enter');
  await onStep(page, 'what');
  await page.waitForFunction(() => document.getElementById('f-description')?.value === 'Listening!');
});

test('the interface language is kept for the next start; messages on screen follow a switch', async (t) => {
  const { page, kb } = await open(t);
  await page.locator('#unlock').waitFor();
  await kb.press('#unlock');
  await page.locator('.error-summary').getByText(/Choose your name|Enter your passphrase/).first().waitFor();
  await page.locator('#language').selectOption('pl');
  await page.locator('.error-summary').getByText(/hasło/i).first().waitFor();
  assert.doesNotMatch(await text(page, '.error-summary'), /Enter your passphrase/);
  await page.reload();
  await page.locator('#unlock').waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'pl', 'the desk reopens in Polish');
  assert.equal(await page.locator('#language').inputValue(), 'pl');
});

test('quick-hide gives the window a neutral title; ambassadors change their own passphrase; Sync now says why nothing happens', async (t) => {
  const { page, kb, audit } = await open(t, { desk: 'new' });
  await page.locator('#centre-name').waitFor();
  await setUpDesk(kb);
  await page.locator('#recovery-code').waitFor();
  await kb.check('#stored');
  await kb.press('#recovery-continue');
  await page.locator('#new-report').waitFor();
  // Not enrolled: Sync now explains instead of doing nothing.
  await kb.press('#sync-now');
  assert.match(await text(page, '#sync-note'), /not connected to a hub yet/);

  // Settings: a refused action is said where the eye and the focus are.
  await kb.press('.header__nav button:nth-child(3)');
  await kb.type('#new-user', 'Ali');
  await kb.type('#new-passphrase', 'short');
  await kb.press('#add-user');
  await page.locator('#settings-error').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'settings-error');
  // Removing a user is asked in the page.
  await page.locator('#new-passphrase').fill('');
  await kb.type('#new-passphrase', 'a long enough passphrase');
  await kb.press('#add-user');
  await page.locator('#settings-message').getByText(/Ali/).waitFor();
  await kb.press('#remove-Ali');
  await page.locator('#remove-confirm').waitFor();
  await kb.press('#remove-cancel');
  await page.locator('#remove-Ali').waitFor();

  // Your own passphrase, with the current one typed first.
  await kb.press('#nav-account');
  await kb.type('#current-passphrase', 'not it at all, no');
  await kb.type('#new-passphrase', 'a brand new passphrase');
  await kb.type('#new-passphrase-again', 'a brand new passphrase');
  await kb.press('#change-passphrase');
  await page.locator('.error-summary').getByText(/not right/).waitFor();
  await kb.type('#current-passphrase', PASSPHRASE);
  await kb.type('#new-passphrase', 'a brand new passphrase');
  await kb.type('#new-passphrase-again', 'a brand new passphrase');
  await kb.press('#change-passphrase');
  await page.locator('#account-message').waitFor();
  await audit('your passphrase, changed');

  await page.keyboard.press('Escape');
  await page.keyboard.press('Escape');
  await page.locator('#hidden').waitFor();
  assert.equal(await page.title(), 'Welcome');
  assert.equal(await page.evaluate(() => window.fakeDesk.state().title), 'Community information');
  await kb.press('#hidden button');
  await page.locator('#unlock').waitFor();
  assert.equal(await page.evaluate(() => window.fakeDesk.state().title), 'HIRC Desk');
  await kb.radio('user', 0);
  await kb.type('#passphrase', 'a brand new passphrase');
  await kb.press('#unlock');
  await page.locator('#new-report').waitFor();
});

// The whole interview by keyboard alone on a 1024×768 screen, in each
// language of the interface, checked by axe at every step. With
// SCREENSHOTS=dir, a picture of each step.
for (const lang of ['en', 'pl', 'ur']) {
  test(`the whole interview by keyboard alone at 1024×768 (${lang})`, async (t) => {
    const { page, kb, audit } = await open(t, { width: 1024, height: 768 });
    const shot = async (name) => {
      if (process.env.SCREENSHOTS) await page.screenshot({ path: join(process.env.SCREENSHOTS, `interview-${lang}-${name}.png`) });
    };
    await page.locator('#unlock').waitFor();
    await kb.reach('#language');
    await page.locator('#language').selectOption(lang);
    await signIn(page, kb);
    await kb.press('#new-report');
    await onStep(page, 'who');
    await kb.radio('f-reporter_role', 0);
    await audit(`who (${lang})`);
    await shot('1-who');
    await kb.press('#continue');
    await onStep(page, 'what');
    await kb.check('#f-incident_types');
    await kb.type('#f-description', 'Shouted at on the bus, 07700 900123.');
    await kb.radio('f-injury', 1);
    await kb.radio('f-medical_treatment', 1);
    await audit(`what (${lang})`);
    await shot('2-what');
    await kb.press('#continue');
    await onStep(page, 'when');
    await kb.type('#f-occurred_on', '27');
    await kb.type('#f-occurred_on-month', '3');
    await kb.type('#f-occurred_on-year', '2026');
    await kb.type('#f-occurred_time', '5.30pm');
    await kb.radio('f-location_type', 2);
    await audit(`when (${lang})`);
    await shot('3-when');
    await kb.press('#continue');
    await onStep(page, 'why');
    await kb.check('#f-strands');
    await audit(`why (${lang})`);
    await kb.press('#continue');
    await onStep(page, 'person');
    await kb.radio('f-anonymous', 1);
    await kb.type('#f-person-name', 'Amina');
    await kb.type('#f-person-phone', '07700 900123');
    await audit(`person (${lang})`);
    await shot('5-person');
    await kb.press('#continue');
    await onStep(page, 'consent');
    await kb.radio('f-consent-pass_to_police', 0); // with their details
    await kb.radio('f-consent-police_may_contact', 0);
    await kb.radio('f-consent-refer_to_support', 0);
    await audit(`consent (${lang})`);
    await shot('6-consent');
    await kb.press('#continue');
    await onStep(page, 'evidence');
    // A screenshot pasted, and a photo chosen with the picker (both made
    // here, as a phone or the desk's clipboard would hand them over).
    await page.locator('#evidence-caption').fill('the wall by the bus stop');
    await page.evaluate(async () => {
      const picture = async (type, colour) => {
        const canvas = document.createElement('canvas');
        canvas.width = 60;
        canvas.height = 40;
        const ctx = canvas.getContext('2d');
        ctx.fillStyle = colour;
        ctx.fillRect(0, 0, 60, 40);
        return new Promise((done) => canvas.toBlob(done, type));
      };
      const photo = new DataTransfer();
      photo.items.add(new File([await picture('image/jpeg', '#036')], 'IMG_2041 Amina home.jpg', { type: 'image/jpeg' }));
      const input = document.getElementById('evidence-files');
      input.files = photo.files;
      input.dispatchEvent(new Event('change', { bubbles: true }));
    });
    await page.locator('#evidence-list li').nth(0).waitFor();
    await page.evaluate(async () => {
      const canvas = document.createElement('canvas');
      canvas.width = 30;
      canvas.height = 30;
      canvas.getContext('2d').fillRect(0, 0, 30, 30);
      const blob = await new Promise((done) => canvas.toBlob(done, 'image/png'));
      const pasted = new DataTransfer();
      pasted.items.add(new File([blob], 'Screenshot.png', { type: 'image/png' }));
      window.dispatchEvent(new ClipboardEvent('paste', { clipboardData: pasted }));
    });
    await page.locator('#evidence-list li').nth(1).waitFor();
    await page.waitForFunction(() => document.querySelectorAll('#evidence-list img.evidence-item__thumb').length === 2);
    // The pictures are blurred for anyone passing until asked for, by
    // keyboard, and blurred again at a second press.
    const blurred = () => page.locator('#evidence-list img.evidence-item__thumb--blurred').count();
    assert.equal(await blurred(), 2, 'the pictures are shown to passers-by');
    assert.equal(await page.locator('#evidence-show-pictures').getAttribute('aria-pressed'), 'false');
    await kb.press('#evidence-show-pictures');
    assert.equal(await blurred(), 0);
    assert.equal(await page.locator('#evidence-show-pictures').getAttribute('aria-pressed'), 'true');
    await kb.press('#evidence-show-pictures');
    assert.equal(await blurred(), 2);
    const listed = await text(page, '#evidence-list');
    assert.match(listed, /the wall by the bus stop/, 'the caption goes with the first file');
    assert.doesNotMatch(listed, /IMG_2041|Amina|Screenshot/, "the file's name is never shown or kept");
    assert.equal(await page.locator('#evidence-caption').inputValue(), '', 'the note was for that file');
    await audit(`evidence (${lang})`);
    await shot('6e-evidence');
    if (lang === 'pl') {
      // A refusal in the person's language, not the desk's English.
      await page.evaluate(() => {
        const odd = new DataTransfer();
        odd.items.add(new File([new Uint8Array([0, 1, 2, 3, 0xff, 0xfe, 0, 9])], 'clip.bin'));
        const input = document.getElementById('evidence-files');
        input.files = odd.files;
        input.dispatchEvent(new Event('change', { bubbles: true }));
      });
      await page.locator('#evidence-error').getByText(/Nie można dodać tego rodzaju pliku/).waitFor();
      // Refused at its first piece: the window gives the file up.
      assert.ok(await page.evaluate(() => window.fakeDesk.calls.includes('abandon_evidence')));
      assert.equal(await page.evaluate(() => window.fakeDesk.state().arriving), 0);
    }
    if (lang === 'en') {
      // A file over the limit is refused before it is read; a file dropped
      // outside the drop zone is refused, never opened in place of the app;
      // text pasted into the note stays text.
      const refused = await page.evaluate(async () => {
        const big = new DataTransfer();
        big.items.add(new File([new Uint8Array(26 * 1024 * 1024)], 'video.mp4', { type: 'video/mp4' }));
        const input = document.getElementById('evidence-files');
        input.files = big.files;
        input.dispatchEvent(new Event('change', { bubbles: true }));
        const outside = new DataTransfer();
        outside.items.add(new File(['x'], 'a.txt', { type: 'text/plain' }));
        const drop = new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: outside });
        document.querySelector('h1').dispatchEvent(drop);
        const words = new DataTransfer();
        words.setData('text/plain', 'graffiti on the wall');
        words.items.add(new File(['png'], 'image.png', { type: 'image/png' }));
        const caption = document.getElementById('evidence-caption');
        const paste = new ClipboardEvent('paste', { bubbles: true, cancelable: true, clipboardData: words });
        caption.dispatchEvent(paste);
        return { dropRefused: drop.defaultPrevented, pasteLeftToBox: !paste.defaultPrevented };
      });
      await page.locator('#evidence-error').getByText(/larger than one may be here \(25 MB\)/).waitFor();
      assert.deepEqual(refused, { dropRefused: true, pasteLeftToBox: true });
      assert.equal(await page.locator('#evidence-list li').count(), 2, 'nothing more was added');
      // A larger file crosses a piece at a time, never whole, nothing of
      // it left arriving once it is kept.
      const before = (await page.evaluate(() => window.fakeDesk.state().pieceSizes)).length;
      await page.evaluate(() => {
        const letter = new DataTransfer();
        letter.items.add(new File(['Dear neighbour, '.repeat(200_000)], 'letter.txt', { type: 'text/plain' }));
        const input = document.getElementById('evidence-files');
        input.files = letter.files;
        input.dispatchEvent(new Event('change', { bubbles: true }));
      });
      await page.locator('#evidence-list li').nth(2).waitFor();
      const pieces = (await page.evaluate(() => window.fakeDesk.state().pieceSizes)).slice(before);
      assert.deepEqual(pieces, [1048576, 1048576, 1048576, 54272], 'a 3.2 MB file in four pieces of at most 1 MiB');
      assert.equal(await page.evaluate(() => window.fakeDesk.state().arriving), 0);
      await kb.press('#evidence-remove-3');
      await kb.press('#evidence-remove-yes-3');
      await page.waitForFunction(() => document.querySelectorAll('#evidence-list li').length === 2);
    }
    // Removed by keyboard, asked first with the focus on keeping it (a
    // key pressed twice keeps the evidence); then the focus goes back to
    // the picker.
    await kb.press('#evidence-remove-2');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'evidence-keep-2');
    await kb.press('#evidence-keep-2');
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'evidence-remove-2');
    assert.equal(await page.locator('#evidence-list li').count(), 2, 'kept');
    await kb.press('#evidence-remove-2');
    await kb.press('#evidence-remove-yes-2');
    await page.waitForFunction(() => document.querySelectorAll('#evidence-list li').length === 1);
    assert.equal(await page.evaluate(() => document.activeElement?.id), 'evidence-choose');
    await kb.press('#continue');
    await onStep(page, 'review');
    await page.locator('#review-evidence li').nth(0).waitFor();
    await audit(`review (${lang})`);
    await shot('7-review');
    const report = await saved(page);
    assert.equal(report.language_used, lang);
    assert.equal(report.occurred_time, '17:30');
    assert.equal(report.consent.police_may_contact, true);
    await kb.press('#submit-report');
    await page.locator('#reference').waitFor();
    const reference = (await text(page, '#reference')).trim();

    // The person asks for what the desk holds: the copy, then, apart, the
    // file they gave (the coordinator who took it is signed in).
    await kb.press('#home');
    await kb.type('#find-reference', reference);
    await kb.press('#find-button');
    await page.locator('#report-page').waitFor();
    await kb.press('#page-access-save');
    await page.locator('#page-access-saved').waitFor();
    await page.locator('#page-access-files').getByText('(1)').waitFor();
    await audit(`the person's copy and their files (${lang})`);
    await kb.press('#page-access-files');
    await page.locator('#page-access-files-saved').getByText(`files-for-the-person-${reference}`).waitFor();
    // Saved there again, the files would be there already: said in the
    // interface's language, and nothing is written.
    await kb.press('#page-access-files');
    const unsuitable = { en: /That place will not do.*of that name is there already/, pl: /To miejsce nie nadaje się.*o tej nazwie już tam jest/, ur: /یہ جگہ اس شخص کی فائلوں کے لیے مناسب نہیں.*پہلے سے وہاں موجود ہے/ }[lang];
    await page.locator('#page-access-files-error').getByText(unsuitable).waitFor();
    // In the interface's words alone: not the engine's English.
    if (lang !== 'en') assert.doesNotMatch(await text(page, '#page-access-files-error'), /there already/);
    assert.equal(await page.locator('#page-access-files-saved').count(), 0);
  });
}

test('a lock comes back to the report that was open, never to another one', async (t) => {
  const { page, kb } = await open(t);
  await signIn(page, kb);
  const seeded = await page.evaluate(() => window.fakeDesk.state().reports.find((r) => r.state === 'draft').id);
  // A report taken to its second step, left; then a new one, untouched.
  await startReport(page, kb);
  await kb.press('#save-home');
  await kb.press('#new-report');
  await onStep(page, 'who');
  await kb.press('#lock');
  await signIn(page, kb);
  assert.equal(await page.locator('#step-title').count(), 0, 'an untouched new report comes back as Home, not as the older report');
  // An older draft opened from Home, then a lock: that draft comes back.
  await kb.press(`#open-${seeded}`);
  await onStep(page, 'who');
  await page.waitForFunction((id) => window.fakeDesk.state().place?.report_id === id, seeded);
  await kb.press('#lock');
  await page.locator('#unlock').waitFor();
  await kb.type('#passphrase', PASSPHRASE);
  await kb.press('#unlock');
  await onStep(page, 'who');
  assert.equal(await page.evaluate(() => window.fakeDesk.state().place?.report_id), seeded);
});

test('nothing typed is left behind: an unreadable time, a refused save, a slip onto "anonymous", a month in another language', async (t) => {
  const { page, kb } = await open(t);
  await signIn(page, kb);
  await kb.press('#new-report');
  await kb.radio('f-reporter_role', 0);
  // British Sign Language is offered by its name, not its code.
  assert.equal(await page.locator('#f-language_used option[value="bfi"]').innerText(), 'British Sign Language');
  await kb.press('#continue');
  await kb.check('#f-incident_types');
  await kb.type('#f-description', 'Shouted at.');
  await kb.press('#continue');
  await onStep(page, 'when');
  // Polish month names stay readable after a switch to English.
  await page.locator('#language').selectOption('pl');
  await kb.type('#f-occurred_on', '27');
  await kb.type('#f-occurred_on-month', 'marca');
  await kb.type('#f-occurred_on-year', '2026');
  await page.waitForFunction(() => window.fakeDesk.state().reports.at(-1).report.occurred_on === '2026-03-27');
  await page.locator('#language').selectOption('en');
  await kb.type('#f-occurred_time', '7.30');
  // "Save and go home" with a time it cannot read: says so, and stays.
  await kb.press('#save-home');
  await page.locator('.error-summary').getByText(/am or pm/).waitFor();
  assert.equal(await page.locator('#step-title').getAttribute('data-step'), 'when');
  assert.equal(await page.locator('#f-occurred_on-error').count(), 0, 'the Polish month is still read in English');
  // Locked meanwhile: what was typed comes back with the report.
  await kb.press('#lock');
  await page.locator('#unlock').waitFor();
  await kb.type('#passphrase', PASSPHRASE);
  await kb.press('#unlock');
  await onStep(page, 'when');
  await page.waitForFunction(() => document.getElementById('f-occurred_time')?.value === '7.30');
  await page.locator('#f-occurred_time').fill('');
  await kb.type('#f-occurred_time', '7.30pm');
  // A change the desk refuses (too long, set past the box's own limit as a
  // paste from another program might): said at the field, and "Save and go
  // home" stays until it is put right.
  await page.locator('#f-location_details').evaluate((el) => {
    el.value = 'x'.repeat(2100);
    el.dispatchEvent(new Event('input', { bubbles: true }));
  });
  await page.locator('#f-location_details-error').getByText(/longer than the desk can keep/).waitFor();
  await kb.press('#save-home');
  assert.equal(await page.locator('#step-title').getAttribute('data-step'), 'when', 'left with a change unsaved');
  await page.locator('#f-location_details').fill('');
  await kb.type('#f-location_details', 'By the bus stop');
  await page.waitForFunction(() => window.fakeDesk.state().reports.at(-1).report.location_details === 'By the bus stop');
  assert.equal((await saved(page)).occurred_time, '19:30');
  // The box keeps no more than the desk does, whatever is typed or pasted.
  await page.locator('#f-location_details').fill('');
  await kb.reach('#f-location_details');
  await page.keyboard.insertText('y'.repeat(2100));
  assert.equal((await page.locator('#f-location_details').inputValue()).length, 2000);
  await kb.radio('f-location_type', 0);
  await kb.press('#continue');
  await onStep(page, 'why');
  await kb.check('#f-strands');
  await kb.press('#continue');
  await onStep(page, 'person');
  // A slip onto "anonymous" takes the phone number out of the report; back
  // to "No", it is there again.
  await kb.radio('f-anonymous', 1);
  await kb.type('#f-person-phone', '07700 900123');
  await page.waitForFunction(() => window.fakeDesk.state().reports.at(-1).report.person?.phone === '07700 900123');
  await kb.reach('input[name="f-anonymous"]:checked');
  await page.keyboard.press('ArrowUp'); // yes, anonymous
  await page.waitForFunction(() => !('phone' in (window.fakeDesk.state().reports.at(-1).report.person ?? {})));
  await page.keyboard.press('ArrowDown'); // no
  await page.waitForFunction(() => window.fakeDesk.state().reports.at(-1).report.person?.phone === '07700 900123');
  assert.equal(await page.locator('#f-person-phone').inputValue(), '07700 900123');
});

test('a lock waits for the save in flight: the last keys typed are there after unlocking', async (t) => {
  // Every save takes half a second, so the lock comes while one is running
  // and the last keys wait behind it.
  const { page, kb } = await open(t, { query: '&saveDelay=500' });
  await signIn(page, kb);
  await kb.press('#new-report');
  await kb.radio('f-reporter_role', 0);
  await page.locator('#save-state').getByText(/Saved/).waitFor();
  await kb.press('#continue');
  await onStep(page, 'what');
  await kb.type('#f-description', 'Last words');
  await page.evaluate(() => document.getElementById('lock').click());
  await page.locator('#unlock').waitFor();
  await kb.type('#passphrase', PASSPHRASE);
  await kb.press('#unlock');
  await onStep(page, 'what');
  await page.waitForFunction(() => document.getElementById('f-description')?.value === 'Last words');
});

test('the recovery code stays on screen when the desk locks itself; its Continue then asks to unlock', async (t) => {
  const { page, kb } = await open(t, { desk: 'new', query: '&minute=2000' });
  await page.locator('#centre-name').waitFor();
  await page.evaluate(() => window.fakeDesk.setLocks(1, 1));
  await setUpDesk(kb);
  await page.locator('#recovery-code').waitFor();
  // Nobody touches anything: the desk locks itself (two "minutes" of 2 s).
  await page.waitForFunction(() => window.fakeDesk.state().unlocked === null, null, { timeout: 30_000 });
  assert.ok(await page.locator('#recovery-code').isVisible(), 'the one-time recovery code stays');
  assert.equal(await page.locator('#lock-warning').count(), 0);
  await kb.check('#stored');
  await kb.press('#recovery-continue');
  await page.locator('#unlock').waitFor();
});

test('Save and go home: a failure no answer can fix is said, and a second press leaves; an emptied date holds nothing up', async (t) => {
  const { page, kb } = await open(t);
  await signIn(page, kb);
  await kb.press('#new-report');
  await kb.radio('f-reporter_role', 0);
  await page.locator('#save-state').getByText(/Saved/).waitFor();
  await kb.press('#continue');
  await kb.check('#f-incident_types');
  await kb.type('#f-description', 'Shouted at.');
  await kb.press('#continue');
  await onStep(page, 'when');
  await kb.type('#f-occurred_on', '31/2/2026');
  await kb.type('#f-occurred_time', '');
  await page.locator('#f-occurred_on-error').getByText(/real date/).waitFor();
  for (const id of ['f-occurred_on', 'f-occurred_on-month', 'f-occurred_on-year']) await page.locator(`#${id}`).fill('');
  await page.evaluate(() => window.fakeDesk.failSaves('store'));
  await kb.type('#f-area', 'SS8');
  await page.locator('#save-state').getByText(/could not be saved/).waitFor();
  await kb.press('#save-home');
  await page.locator('.error-summary').getByText(/again to leave without it/).waitFor();
  assert.equal(await page.locator('#step-title').getAttribute('data-step'), 'when');
  assert.equal(await page.locator('#f-occurred_on-error').count(), 0, 'an emptied date is not a problem');
  await kb.press('#save-home');
  await page.locator('#new-report').waitFor();
});

test('a quick-hide on the recovery-code page hides it, and after unlocking the same code is shown again', async (t) => {
  const { page, kb } = await open(t, { desk: 'new' });
  await page.locator('#centre-name').waitFor();
  await setUpDesk(kb);
  const code = await text(page, '#recovery-code');
  await page.keyboard.press('Escape');
  await page.keyboard.press('Escape');
  await page.locator('#hidden').waitFor();
  assert.doesNotMatch(await text(page, 'body'), new RegExp(code.slice(0, 5)));
  await kb.press('#hidden button');
  await page.locator('#unlock').waitFor();
  await kb.type('#passphrase', PASSPHRASE);
  await kb.press('#unlock');
  await page.locator('#recovery-code').waitFor();
  assert.equal(await text(page, '#recovery-code'), code);
  await kb.check('#stored');
  await kb.press('#recovery-continue');
  await page.locator('#new-report').waitFor();
});

test('a person comes back: their report is found by the reference as read out, and their slip saved, by keyboard at 1024×768', async (t) => {
  const { page, kb, audit } = await open(t, { width: 1024, height: 768 });
  await page.locator('#unlock').waitFor();
  await kb.radio('user', 1); // Ali, an ambassador, who did not take it
  await kb.type('#passphrase', PASSPHRASE);
  await kb.press('#unlock');
  await page.locator('#find-reference').waitFor();
  await audit('home with find');
  // News since the last sign-in, on Home.
  assert.match(await text(page, '#news'), /CP-3H8D-9X[\s\S]*Passed to the police/);

  // Not a reference; then one character wrong; then one never issued here.
  await kb.type('#find-reference', 'hello');
  await kb.press('#find-button');
  await page.locator('#find-reference-error').getByText(/looks like CP-7K3M-QA/).waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'find-reference', 'the focus goes back to the box');
  await audit('home, find with an error');
  await page.locator('#find-reference').fill('');
  await kb.type('#find-reference', 'cp-7k2q-4n');
  await kb.press('#find-button');
  await page.locator('#find-reference-error').getByText(/One character/).waitFor();
  await page.locator('#find-reference').fill('');
  await kb.type('#find-reference', 'CP-9999-ZZ');
  await kb.press('#find-button');
  await page.locator('#find-reference-error').getByText(/No report with that reference/).waitFor();

  // As read out: small letters, spaces, the letter O for a zero would be
  // forgiven; this one is the waiting report's.
  await page.locator('#find-reference').fill('');
  await kb.type('#find-reference', 'cp 3h8d 9x');
  await kb.press('#find-button');
  await page.locator('#report-page').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'page-title', 'the page heading takes the focus');
  assert.match(await text(page, '#page-title'), /CP-3H8D-9X/);
  assert.match(await text(page, '#page-state'), /Delivered to the hub/);
  assert.match(await text(page, '#page-receipt'), /signature checked/);
  // The partnership's word on it, with its note.
  assert.match(await text(page, '#page-word'), /Passed to the police[\s\S]*With PC Smith at Rayleigh/);
  assert.match(await text(page, '#page-consent'), /will not be passed to the police/);
  assert.match(await text(page, '#page-not-readable'), /Only the ambassador who took this report/);
  // Nothing the person said is on this page.
  assert.doesNotMatch(await text(page, 'main'), /Shouted at on the bus/);
  await audit('report page');

  await page.locator('#page-slip-language').selectOption('ur');
  await kb.press('#page-slip-save');
  await page.locator('#page-slip-saved').getByText(/slip-CP-3H8D-9X\.pdf/).waitFor();
  const exports = await page.evaluate(() => window.fakeDesk.exports);
  assert.deepEqual(exports.at(-1), { slip: 'CP-3H8D-9X', language: 'ur' });
  await audit('report page, slip saved');
  await kb.press('#page-home');
  await page.locator('#new-report').waitFor();

  // The support services are at the foot of every screen, folded.
  await kb.press('#footer-services summary');
  await page.locator('#footer-services-list').getByText(/Stop Hate UK/).waitFor();
});

test('a coordinator confirms the support services, and the report form ends with them', async (t) => {
  const { page, kb, audit } = await open(t, { width: 1024, height: 768 });
  await page.locator('#unlock').waitFor();
  await kb.radio('user', 0);
  await kb.type('#passphrase', PASSPHRASE);
  await kb.press('#unlock');
  await kb.press('#nav-settings');
  await page.locator('#services-text').waitFor();
  assert.match(await text(page, '#services-confirmed'), /national defaults/);
  assert.match(await page.locator('#services-text').inputValue(), /^Victim Support \| 08 08 16 89 111 \| victimsupport\.org\.uk$/m);
  await audit('settings, services');
  await page.locator('#services-text').fill('Local helpline | call us');
  await kb.press('#services-save');
  await page.locator('#services-text-error').getByText(/phone number/).waitFor();
  await page.locator('#services-text').fill('Castle Point Advocate | 01268 000 000 | example.org | English, Polish\nSamaritans | 116 123');
  await kb.press('#services-save');
  await page.locator('#services-saved').waitFor();
  assert.match(await text(page, '#services-confirmed'), /Confirmed by Chris/);
  await audit('settings, services confirmed');

  // The end of the report form lists them for the person.
  await kb.press('#nav-home');
  await kb.press('#resume, [id^="open-"]');
  await page.locator('#step-title').waitFor();
  // The draft lacks its description: filled in when its step asks.
  for (let i = 0; i < 12 && (await page.locator('#submit-report').count()) === 0; i++) {
    const at = await page.locator('#step-title').getAttribute('data-step');
    if (at === 'what' && (await page.locator('#f-description').inputValue()) === '') {
      await page.locator('#f-description').fill('Shouted at in the street.');
    }
    await page.locator('#continue').click();
    await page.waitForFunction((n) => document.querySelector('#step-title')?.getAttribute('data-step') !== n || document.querySelector('.error-summary') !== null, at);
  }
  await page.locator('#form-services-list').getByText(/Castle Point Advocate/).waitFor();
  assert.match(await text(page, '#form-services'), /999/);
});

test('adding to a report found by its reference: the next revision in the form, with its note; then a change of consent', async (t) => {
  const { page, kb, audit } = await open(t, { width: 1024, height: 768 });
  await page.locator('#unlock').waitFor();
  await kb.radio('user', 0); // Chris, who took CP-3H8D-9X
  await kb.type('#passphrase', PASSPHRASE);
  await kb.press('#unlock');
  await kb.type('#find-reference', 'cp-3h8d-9x');
  await kb.press('#find-button');
  await page.locator('#report-page').waitFor();
  await audit('report page, with add and consent');

  await kb.press('#page-add');
  await page.locator('#follow-up-banner').getByText(/CP-3H8D-9X/).waitFor();
  // Left for a moment: Home says what the draft adds to, and it opens again.
  await kb.press('#save-home');
  const followUp = page.locator('li.draft', { hasText: 'Adding to report' });
  assert.match(await followUp.innerText(), /CP-3H8D-9X/);
  const openId = await followUp.locator('button[id^="open-"]').getAttribute('id');
  await kb.press(`#${openId}`);
  await page.locator('#follow-up-banner').getByText(/CP-3H8D-9X/).waitFor();
  // Pre-filled: every step passes as it is, up to the check page.
  for (let i = 0; i < 8 && (await page.locator('#submit-report').count()) === 0; i++) {
    const at = await page.locator('#step-title').getAttribute('data-step');
    await kb.press('#continue');
    await page.waitForFunction((n) => document.querySelector('#step-title')?.getAttribute('data-step') !== n, at);
  }
  await page.locator('#f-what_changed').waitFor();
  await audit('follow-up: check page');
  await kb.press('#submit-report');
  await page.locator('#f-what_changed-error').getByText(/Say what this follow-up adds/).waitFor();
  await kb.type('#f-what_changed', 'They came back a week later.');
  await page.locator('#save-state').getByText(/Saved/).waitFor();
  await kb.press('#submit-report');
  assert.equal(await page.locator('#reference').innerText(), 'CP-3H8D-9X', 'a follow-up keeps the reference');

  // The person no longer wants it passed on with their details.
  await kb.press('#home');
  await kb.type('#find-reference', 'CP-3H8D-9X');
  await kb.press('#find-button');
  await page.locator('#page-state').getByText(/waiting to be sent/).waitFor();
  // The group's checked answer (No), then up one: anonymously.
  await kb.reach('input[name="change-pass_to_police"]:checked');
  await page.keyboard.press('ArrowUp');
  await kb.press('#consent-save');
  await page.locator('#consent-saved').waitFor();
  assert.match(await text(page, '#page-consent'), /only without your details/);
  await audit('report page, consent changed');
});

test('another incident by the same person: a new report from the page, naming the first, and a wrong reference is caught', async (t) => {
  const { page, kb, audit } = await open(t, { width: 1024, height: 768 });
  await page.locator('#unlock').waitFor();
  await page.locator('#language').selectOption('ur');
  await kb.radio('user', 0);
  await kb.type('#passphrase', PASSPHRASE);
  await kb.press('#unlock');
  await kb.type('#find-reference', 'cp 3h8d 9x');
  await kb.press('#find-button');
  await page.locator('#report-page').waitFor();
  await kb.press('#page-related');
  // The form opens at its first step, saying whose report this follows.
  await page.locator('#related-banner').getByText(/CP-3H8D-9X/).waitFor();
  assert.equal(await page.locator('#follow-up-banner').count(), 0, 'a new report, not a follow-up');
  assert.equal(await page.locator('#step-title').getAttribute('data-step'), 'who');
  await audit('related report: first step, Urdu');
  await kb.press('#continue');
  await page.waitForFunction(() => document.querySelector('#step-title')?.getAttribute('data-step') === 'what');
  assert.equal(await page.locator('#f-related_reference').inputValue(), 'CP-3H8D-9X');
  assert.equal(await page.locator('#f-related_reference').getAttribute('dir'), 'ltr');
  // Typed over with something that is not a reference: the step says so.
  await page.locator('#f-related_reference').fill('');
  await kb.type('#f-related_reference', 'hello');
  await kb.press('#continue');
  await page.locator('#f-related_reference-error').waitFor();
  await audit('related report: the reference refused');
});

test('a coordinator erases a report at the person\'s request: asked once more, then only the fact of it stays', async (t) => {
  const { page, kb, audit } = await open(t, { width: 1024, height: 768 });
  await page.locator('#unlock').waitFor();
  await kb.radio('user', 0); // Chris, a coordinator
  await kb.type('#passphrase', PASSPHRASE);
  await kb.press('#unlock');
  await kb.type('#find-reference', 'CP-3H8D-9X');
  await kb.press('#find-button');
  await page.locator('#report-page').waitFor();
  // A copy for the person first, if they ask for one.
  await kb.press('#page-access-save');
  await page.locator('#page-access-saved').getByText(/copy-for-the-person-CP-3H8D-9X\.pdf/).waitFor();
  // Asked first, and "Cancel" keeps it.
  await kb.press('#erase-ask');
  await page.locator('#erase-confirm-panel').waitFor();
  assert.equal(await page.evaluate(() => document.activeElement?.id), 'erase-confirm-title', 'the question takes the focus');
  await audit('erase: asked');
  await kb.press('#erase-cancel');
  assert.equal(await page.locator('#erase-confirm-panel').count(), 0);
  await kb.press('#erase-ask');
  await kb.press('#erase-confirm');
  await page.locator('#erased-title').getByText(/was erased/).waitFor();
  assert.equal(await page.locator('#report-page').count(), 0, 'nothing of the report is shown');
  await audit('erase: done');
  await kb.press('#erased-home');
  // Quoted again, the reference says what became of it.
  await kb.type('#find-reference', 'CP-3H8D-9X');
  await kb.press('#find-button');
  await page.locator('#find-reference-error').getByText(/erased at the person's request/).waitFor();
  // The sync line counts the erasure until the hub confirms it.
  await page.locator('#sync-status').getByText(/Erasures not yet confirmed by the hub: 1 /).waitFor();
  await kb.press('#nav-settings');
  await page.locator('#erasures li[data-reference="CP-3H8D-9X"]').getByText(/erased with the next sync/).waitFor();
  await audit('settings: an erasure waiting for the hub');
  await kb.press('#nav-home');
  await kb.press('#sync-now');
  await page.waitForFunction(() => !document.querySelector('#sync-status')?.textContent?.includes('Erasures'));
  // The hub was restored from an older backup: sent again, and waiting.
  await kb.press('#nav-settings');
  await page.locator('#erasures').getByText(/The hub confirmed it erased its copy/).waitFor();
  await kb.press('#erasures-resend');
  await page.locator('#settings-message').getByText('Erasures going to the hub again with the next sync: 1.').waitFor();
  await page.locator('#erasures').getByText(/erased with the next sync/).waitFor();
  await audit('settings: erasures sent again');
  await kb.press('#lock');
  await page.locator('#unlock').waitFor();
});

test('an ambassador is not offered erasure, nor a change of consent', async (t) => {
  const { page, kb } = await open(t);
  await page.locator('#unlock').waitFor();
  await kb.radio('user', 1); // Ali, an ambassador
  await kb.type('#passphrase', PASSPHRASE);
  await kb.press('#unlock');
  await kb.type('#find-reference', 'CP-7K2Q-4F');
  await kb.press('#find-button');
  await page.locator('#report-page').waitFor();
  assert.equal(await page.locator('#erase-section').count(), 0);
  assert.equal(await page.locator('#page-access-save').count(), 0, 'nor a copy of everything held');
  // Nor changing what the person agreed to: the page says who does.
  assert.equal(await page.locator('#consent-change').count(), 0);
  await page.locator('#consent-change-coordinator').getByText(/A coordinator changes/).waitFor();
});
