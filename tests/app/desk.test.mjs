// End-to-end tests of the real app (the built `hirc-desk` binary) in a real
// window, over WebDriver (tauri-driver + WebKitWebDriver). Run under Xvfb
// and a D-Bus session by scripts/test:
//   xvfb-run -a dbus-run-session -- node --test tests/app/desk.test.mjs
// The summary exports go through the real GTK save dialog, typed into with
// xdotool. With SCREENSHOTS=dir it also saves a PNG of each screen there.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync, execFileSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdtempSync, writeFileSync, readFileSync, readdirSync, statSync, mkdirSync, rmSync } from 'node:fs';
import { homedir, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { setTimeout as sleep } from 'node:timers/promises';
import { KEY, Session, startDriver } from './webdriver.mjs';

const root = resolve(import.meta.dirname, '../..');
const app = join(root, 'target/debug/hirc-desk');
const hubBin = join(root, 'target/debug/hirc-hub');
const hirc = join(root, 'target/debug/hirc');
const driver = join(root, '.tools/bin/tauri-driver');
const shots = process.env.SCREENSHOTS ? resolve(process.env.SCREENSHOTS) : null;
const PASS = 'correct horse battery staple';
const CANARY = `canary-${Date.now()}-description`;
// In a photo's EXIF: the desk keeps its pixels, never this.
const EXIF_CANARY = `canary-${Date.now()}-exif`;

/** Adds, in the window, a photo (a JPEG the page draws, with EXIF holding
 *  EXIF_CANARY) dropped on the Evidence step, and a screenshot (a PNG)
 *  pasted, as a volunteer's mouse and clipboard would hand them over. */
const ADD_EVIDENCE = `
  const exif = arguments[0];
  const picture = (type, colour, w, h) => new Promise((done) => {
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    const ctx = canvas.getContext('2d');
    ctx.fillStyle = colour;
    ctx.fillRect(0, 0, w, h);
    canvas.toBlob(done, type);
  });
  return (async () => {
    const jpeg = new Uint8Array(await (await picture('image/jpeg', '#036', 90, 60)).arrayBuffer());
    // EXIF: a little-endian TIFF whose image description is the canary.
    const text = new TextEncoder().encode(exif + '\\0');
    const tiff = new Uint8Array(8 + 2 + 12 + 4 + text.length);
    const v = new DataView(tiff.buffer);
    tiff.set([0x49, 0x49, 0x2a, 0x00]);
    v.setUint32(4, 8, true);
    v.setUint16(8, 1, true);
    v.setUint16(10, 0x010e, true);
    v.setUint16(12, 2, true);
    v.setUint32(14, text.length, true);
    v.setUint32(18, 26, true);
    v.setUint32(22, 0, true);
    tiff.set(text, 26);
    const head = new TextEncoder().encode('Exif\\0\\0');
    const app1 = new Uint8Array(4 + head.length + tiff.length);
    app1.set([0xff, 0xe1, (app1.length - 2) >> 8, (app1.length - 2) & 0xff]);
    app1.set(head, 4);
    app1.set(tiff, 4 + head.length);
    const photo = new Uint8Array(jpeg.length + app1.length);
    photo.set(jpeg.subarray(0, 2));
    photo.set(app1, 2);
    photo.set(jpeg.subarray(2), 2 + app1.length);
    const dropped = new DataTransfer();
    dropped.items.add(new File([photo], 'IMG_2041.jpg', { type: 'image/jpeg' }));
    const drop = new DragEvent('drop', { bubbles: true, cancelable: true, dataTransfer: dropped });
    document.getElementById('evidence-drop').dispatchEvent(drop);
    await new Promise((done) => { const t = setInterval(() => { if (document.querySelectorAll('#evidence-list li').length === 1) { clearInterval(t); done(); } }, 20); });
    const shot = new DataTransfer();
    shot.items.add(new File([await picture('image/png', '#c00', 40, 30)], 'Screenshot.png', { type: 'image/png' }));
    const paste = new Event('paste', { bubbles: true, cancelable: true });
    Object.defineProperty(paste, 'clipboardData', { value: shot });
    window.dispatchEvent(paste);
    await new Promise((done) => { const t = setInterval(() => { if (document.querySelectorAll('#evidence-list img.evidence-item__thumb').length === 2) { clearInterval(t); done(); } }, 20); });
    return document.getElementById('evidence-list').innerText;
  })();
`;

async function shot(s, name) {
  if (!shots) return;
  mkdirSync(shots, { recursive: true });
  writeFileSync(join(shots, `${name}.png`), await s.screenshot());
}

/** Every file under `dir`, recursively. */
function files(dir) {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? files(p) : [p];
  });
}

/** The save dialog's window (titled `title`), once it is open. */
function dialog(title = 'Save the summary') {
  const ids = execFileSync('xdotool', ['search', '--sync', '--onlyvisible', '--name', `^${title}$`], {
    encoding: 'utf8',
    timeout: 20000,
  });
  const win = ids.trim().split('\n')[0];
  execFileSync('xdotool', ['windowfocus', '--sync', win]);
  return win;
}

/** Types a full path into the save dialog's name field and saves. */
function saveAs(path, title) {
  dialog(title);
  execFileSync('xdotool', ['key', '--clearmodifiers', 'ctrl+a']);
  execFileSync('xdotool', ['type', '--delay', '15', path]);
  execFileSync('xdotool', ['key', 'Return']);
}

/** Types a folder's full path into the folder dialog's location and
 *  chooses it. */
function pickFolder(path, title) {
  dialog(title);
  execFileSync('xdotool', ['key', '--clearmodifiers', 'ctrl+l']);
  execFileSync('xdotool', ['type', '--delay', '15', path]);
  execFileSync('xdotool', ['key', 'Return']);
}

function closeDialog() {
  dialog();
  execFileSync('xdotool', ['key', 'Escape']);
}

/** Starts a hub on loopback; resolves with its URL and a way to stop it. */
async function startHub(dir) {
  mkdirSync(dir, { recursive: true });
  execFileSync(hubBin, ['keygen', '--out', join(dir, 'partnership.key')], { stdio: 'ignore' });
  const key = readFileSync(join(dir, 'partnership.key'), 'utf8');
  const recipient = /age1[0-9a-z]+/.exec(key)[0];
  const child = spawn(hubBin, ['serve', '--data-dir', dir, '--listen', '127.0.0.1:0', '--recipient', recipient], {
    stdio: ['ignore', 'pipe', 'ignore'],
  });
  const first = await new Promise((ok) => createInterface({ input: child.stdout }).once('line', ok));
  const url = first.replace('hirc-hub listening on ', '').trim();
  const code = execFileSync(hubBin, ['enrol', '--data-dir', dir, '--centre', 'Castle Point CVS'], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'ignore'],
  })
    .trim()
    .split('\n')
    .pop();
  return { url, code, stop: () => child.kill('SIGTERM') };
}

/** Adds, with the file picker, a plain-text document of `arguments[0]`
 *  bytes, made in the window (a scanned letter's size); see `untilListed`. */
const ADD_DOCUMENT = `
  const size = arguments[0];
  const line = new TextEncoder().encode('The letter pushed through the door on the 2nd.\\n');
  const bytes = new Uint8Array(size);
  for (let at = 0; at < size; at += line.length) bytes.set(line.subarray(0, Math.min(line.length, size - at)), at);
  const chosen = new DataTransfer();
  chosen.items.add(new File([bytes], 'letter.txt', { type: 'text/plain' }));
  const input = document.getElementById('evidence-files');
  input.files = chosen.files;
  input.dispatchEvent(new Event('change', { bubbles: true }));
`;

/** Waits (however slow the machine) until the Evidence step lists `n`
 *  items; fails at once if it shows a problem instead. */
async function untilListed(s, n) {
  const until = Date.now() + 240_000;
  for (;;) {
    const [count, problem] = await s.exec('return [document.querySelectorAll("#evidence-list li").length, document.getElementById("evidence-error")?.innerText ?? ""]');
    if (count === n) return;
    assert.equal(problem, '', 'the Evidence step shows a problem');
    assert.ok(Date.now() < until, `the Evidence step still lists ${count} items, not ${n}`);
    await sleep(100);
  }
}

test('first run, a report across steps, a crash mid-form, submit, delivery, lock and quick-hide', { timeout: 240_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'hirc-app-'));
  const data = join(work, 'desk');
  // HIRC_LOG: the app logs to standard error as well as its log file, at
  // the most talkative level, and both are scanned for the report's text.
  const env = { HIRC_DATA_DIR: data, HIRC_INSECURE_KDF_LOG_N: '10', NO_AT_BRIDGE: '1', HIRC_LOG: 'debug' };
  const d = await startDriver(driver, env);
  let s;
  let hub;
  try {
    // First run.
    s = await Session.open(d.base, app);
    await s.wait('#centre-name');
    await shot(s, '01-first-run');
    await s.click('#set-up');
    await s.wait('.error-summary');
    await s.type('#centre-name', 'Castle Point CVS');
    await s.type('#centre-code', 'CP');
    await s.type('#coordinator', 'Chris');
    await s.type('#passphrase', PASS);
    await s.type('#passphrase-again', PASS);
    await s.click('#set-up');
    const code = await s.waitText('#recovery-code', /^[0-9A-Z]{5}(-[0-9A-Z]{5}){5}$/);
    assert.ok(code);
    await shot(s, '02-recovery-code');
    await s.click('#recovery-continue');
    await s.wait('.error-summary'); // must confirm first
    await s.click('#stored');
    await s.click('#recovery-continue');
    await s.wait('#new-report');
    assert.match(await s.text('#sync-status'), /Not connected/);

    // A report across steps, autosaved.
    await s.click('#new-report');
    await s.wait('#f-reporter_role');
    await shot(s, '04-report-who');
    // Languages by name (the web view's Intl), British Sign Language too.
    assert.equal(await s.exec('return document.querySelector("#f-language_used option[value=pl]").textContent'), 'Polish (polski)');
    assert.equal(await s.exec('return document.querySelector("#f-language_used option[value=bfi]").textContent'), 'British Sign Language');
    await s.click('#continue');
    await s.waitText('.error-summary', /reporting|role/i); // required, per step
    await s.click('#f-reporter_role');
    await s.waitText('#save-state', /Saved/);
    await s.click('#continue');
    await s.waitText('#step-title', /What happened/);
    // Continue first: the error summary takes the focus once; every key
    // typed after that lands in the box (each one changes the errors).
    await s.click('#continue');
    await s.waitText('.error-summary', /own words/);
    await s.type('#f-description', `Shouted at in the street. ${CANARY}`);
    assert.equal(await s.value('#f-description'), `Shouted at in the street. ${CANARY}`);
    assert.equal(await s.exec('return document.activeElement.id'), 'f-description');
    await s.click('#f-incident_types');
    await s.waitText('#save-state', /Saved/);
    await shot(s, '05-report-what');
    await s.click('#continue');
    await s.waitText('#step-title', /When and where/);
    await s.type('#f-occurred_on', '2');
    await s.type('#f-occurred_on-month', '11');
    await s.type('#f-occurred_on-year', '2026');
    await s.click('#f-location_type');
    await s.type('#f-area', 'SS8');
    await sleep(500);
    await s.waitText('#save-state', /Saved/);

    // The app dies mid-form; nothing typed is lost.
    execFileSync('pkill', ['-KILL', '-f', app]);
    await s.close();
    s = await Session.open(d.base, app);
    await s.wait('#passphrase');
    await shot(s, '03-unlock');
    await s.type('#passphrase', 'wrong passphrase!!');
    await s.click('#unlock');
    await s.waitText('.error-summary', /not right/);
    await s.type('#passphrase', PASS);
    await s.click('#unlock');
    await s.click('#resume');
    await s.waitText('#step-title', /When and where/);
    assert.equal(await s.value('#f-occurred_on'), '2');
    assert.equal(await s.value('#f-occurred_on-year'), '2026');
    assert.equal(await s.value('#f-area'), 'SS8');
    await s.click('#continue');
    await s.waitText('#step-title', /targeted/);
    await s.click('#f-strands');
    await s.waitText('#save-state', /Saved/);
    await s.click('#continue');
    await s.waitText('#step-title', /details/);
    // In WebKitGTK as in Chromium: contact details are masked as typed.
    await s.click('#f-anonymous-1'); // no
    await s.type('#f-person-phone', '07700 900123');
    assert.equal(await s.exec('return getComputedStyle(document.getElementById("f-person-phone")).webkitTextSecurity'), 'disc');
    await s.click('#f-person-phone-show');
    assert.equal(await s.exec('return getComputedStyle(document.getElementById("f-person-phone")).webkitTextSecurity'), 'none');
    await s.click('#f-anonymous'); // yes: no name or contact (the phone leaves the report)
    await s.waitText('#save-state', /Saved/);
    await s.click('#continue');
    await s.waitText('#step-title', /Consent/);
    // Answers that contradict "anonymous" are refused in the desk's words,
    // with a link to each field; whether the police may contact someone
    // anonymous is not asked (it is settled: No).
    await s.click('#f-consent-pass_to_police'); // yes, with their details
    await s.click('#f-consent-refer_to_support');
    assert.equal(await s.exec('return document.querySelectorAll("#f-consent-police_may_contact").length'), 0);
    await s.click('#continue');
    await s.waitText('.error-summary', /Choose ‘Yes, anonymously’ or ‘No’/);
    await s.click('.error-summary a');
    assert.equal(await s.exec('return document.activeElement.id'), 'f-consent-pass_to_police');
    await s.click('#f-consent-pass_to_police-1'); // yes, anonymously
    await s.waitText('#save-state', /Saved/);
    await shot(s, '06-report-consent');
    await s.click('#continue');
    await s.waitText('#step-title', /Evidence/);
    await s.type('#evidence-caption', 'the wall by the bus stop');
    const listed = await s.exec(ADD_EVIDENCE, [EXIF_CANARY]);
    assert.match(listed, /the wall by the bus stop/);
    assert.doesNotMatch(listed, /IMG_2041|Screenshot/, "the file's name is never shown");
    // Blurred for anyone passing until asked for (WebKitGTK draws the blur).
    assert.equal(await s.exec('return document.querySelectorAll("#evidence-list img.evidence-item__thumb--blurred").length'), 2);
    await s.click('#evidence-show-pictures');
    assert.equal(await s.exec('return document.querySelectorAll("#evidence-list img.evidence-item__thumb--blurred").length'), 0);
    await s.exec('document.getElementById("evidence-list").scrollIntoView({ block: "center" })');
    await shot(s, '06g-report-evidence-shown');
    await s.click('#evidence-show-pictures');
    assert.equal(await s.exec('return document.querySelectorAll("#evidence-list img.evidence-item__thumb--blurred").length'), 2);
    await s.exec('document.getElementById("evidence-list").scrollIntoView({ block: "center" })');
    await shot(s, '06e-report-evidence');
    // A scanned letter as large as the desk takes by default: the window
    // hands it over a piece at a time, so the app itself holds a few
    // pieces, not the file (the target: under 64 MiB above its
    // baseline, whatever the file's size). Then removed again.
    const pid = execFileSync('pgrep', ['-x', 'hirc-desk']).toString().trim().split('\n')[0];
    const kib = (field) => Number(readFileSync(`/proc/${pid}/status`, 'utf8').match(new RegExp(`${field}:\\s+(\\d+)`))[1]);
    writeFileSync(`/proc/${pid}/clear_refs`, '5');
    const baseline = kib('VmRSS');
    await s.exec(ADD_DOCUMENT, [24 * 1024 * 1024]);
    await untilListed(s, 3);
    const held = (kib('VmHWM') - baseline) / 1024;
    console.log(`adding a 24 MiB document through the window: the app held ${held.toFixed(1)} MiB above its baseline at most`);
    assert.ok(held < 64, `the app held ${held.toFixed(1)} MiB above its baseline while adding 24 MiB`);
    await s.click('#evidence-remove-3');
    await s.wait('#evidence-keep-3');
    await shot(s, '06f-report-evidence-remove');
    await s.click('#evidence-remove-yes-3');
    await untilListed(s, 2);
    await s.click('#continue');
    await s.waitText('#step-title', /Check the report/);
    await s.waitText('#review-evidence', /Photo: the wall by the bus stop/);
    await s.waitText('main', new RegExp(CANARY));
    await shot(s, '07-report-review');
    await s.click('#submit-report');
    const reference = await s.waitText('#reference', /^CP-[0-9A-Z]{4}-[0-9A-Z]{2}$/);
    await shot(s, '08-submitted');
    await s.click('#home');
    await s.waitText('#count-waiting', /^1$/);
    assert.match(await s.text('main'), new RegExp(reference));

    // A local hub; enrol in Settings; the report is delivered.
    hub = await startHub(join(work, 'hub'));
    await s.exec('document.getElementById("nav-settings").click()');
    await s.type('#hub-url', hub.url);
    await s.type('#hub-code', hub.code);
    await s.click('#enrol');
    await s.waitText('#fingerprint', /^[0-9A-F]{4}( [0-9A-F]{4}){4}$/);
    await shot(s, '10-settings');
    await s.exec('document.getElementById("nav-home").click()');
    await s.waitText('#count-delivered', /^1$/, 30000);
    await s.waitText('#count-waiting', /^0$/);
    await s.waitText('#sync-status', /Online/);
    await shot(s, '09-home');
    // The partnership's export has the photo and the screenshot, the
    // photo without its EXIF.
    const attachments = join(work, 'attachments');
    execFileSync(hubBin, ['export', '--data-dir', join(work, 'hub'), '--identity', join(work, 'hub', 'partnership.key'), '--attachments-dir', attachments, '--out', join(work, 'export.jsonl')], { stdio: 'ignore' });
    const exported = files(attachments).filter((f) => !f.endsWith('evidence.json'));
    assert.deepEqual(exported.map((f) => f.replace(/.*\//, '')).sort(), ['r1-1.jpg', 'r1-2.png']);
    for (const f of exported) {
      const bytes = readFileSync(f);
      assert.ok(bytes.length > 100, `${f} is empty`);
      assert.ok(!bytes.includes(EXIF_CANARY), `${f} keeps the photo's EXIF`);
      assert.ok(!bytes.includes('Exif'), `${f} has an EXIF block`);
    }

    // The person comes back with their slip: the reference as read out
    // (small letters, a space for a dash, the letter O or I for a 0 or 1)
    // finds the report's page, which shows nothing they said.
    const misread = reference.toLowerCase().replace('-', ' ').replace(/0/g, 'o').replace(/1/g, 'i');
    await s.type('#find-reference', misread);
    await s.click('#find-button');
    await s.waitText('#page-title', new RegExp(reference));
    await s.waitText('#page-state', /Delivered to the hub/);
    await s.waitText('#page-receipt', /signature checked/);
    assert.doesNotMatch(await s.text('main'), new RegExp(CANARY));
    await shot(s, '09b-report-page');
    // Their slip, through the real save dialog: a PDF poppler draws, with
    // the reference and nothing of the report.
    mkdirSync(join(work, 'slips'), { recursive: true });
    const slip = join(work, 'slips', 'slip.pdf');
    await s.click('#page-slip-save');
    saveAs(slip, "Save the person's slip");
    await s.waitText('#page-slip-saved', /slip\.pdf/);
    assert.equal(statSync(slip).mode & 0o777, 0o600, 'the slip is readable by others');
    const slipText = execFileSync('pdftotext', ['-layout', slip, '-'], { encoding: 'utf8' });
    assert.match(slipText, new RegExp(reference));
    assert.match(slipText, /call 999/);
    assert.ok(!slipText.includes(CANARY), 'the slip holds the report\'s text');
    execFileSync('pdftoppm', ['-png', '-r', '50', '-singlefile', slip, join(work, 'slips', 'slip')]);
    assert.ok(statSync(join(work, 'slips', 'slip.png')).size > 1000, 'the slip is drawn');
    if (process.env.SCREENSHOTS) copyFileSync(join(work, 'slips', 'slip.png'), join(process.env.SCREENSHOTS, '09c-slip.png'));
    // They have more to tell: "Add information" opens the next revision in
    // the form, pre-filled; the check page asks what changed; it keeps the
    // reference and is delivered like the first.
    await s.click('#page-add');
    await s.waitText('#follow-up-banner', new RegExp(reference));
    for (let i = 0; i < 8 && !(await s.exec('return !!document.getElementById("submit-report")')); i++) {
      const at = await s.exec('return document.getElementById("step-title").dataset.step');
      await s.click('#continue');
      await s.exec(
        `return new Promise((done) => { const t = setInterval(() => { if (document.getElementById("step-title").dataset.step !== arguments[0]) { clearInterval(t); done(); } }, 20); })`,
        [at],
      );
    }
    await s.type('#f-what_changed', 'They came back a week later.');
    await s.click('#submit-report');
    await s.waitText('#reference', new RegExp(`^${reference}$`));
    await shot(s, '09d-follow-up-submitted');
    await s.click('#home');
    await s.waitText('#count-delivered', /^1$/, 30000);
    await s.waitText('#count-waiting', /^0$/, 30000);
    // Another incident, another day: a new report from the page, naming
    // the first, with the person's details carried over (the engine's
    // tests follow it to sealing); here it is started, seen, and deleted.
    await s.type('#find-reference', reference);
    await s.click('#find-button');
    await s.waitText('#page-title', new RegExp(reference));
    await s.click('#page-related');
    await s.waitText('#related-banner', new RegExp(reference));
    await s.click('#continue');
    await s.waitText('#step-title', /What happened/);
    assert.equal(await s.exec('return document.getElementById("f-related_reference").value'), reference);
    await s.click('#save-home');
    await s.waitText('#count-drafts', /^1$/);
    await s.click('.draft__delete');
    await s.click('#delete-confirm');
    await s.waitText('#count-drafts', /^0$/);

    // Two dozen more reports with known strands, through `hirc` on the same
    // desk while the app has it open, so Summaries has numbers to show and
    // to suppress: with the walk's own (race), 25 reports, race 9, disability 3.
    const seeded = [
      [8, ['race_ethnicity'], ['verbal_abuse']],
      [6, ['religion_belief'], ['harassment']],
      [5, ['sexual_orientation'], ['threats']],
      [3, ['disability'], ['verbal_abuse']],
      [2, ['transgender_identity', 'sexual_orientation'], ['harassment']],
    ];
    const sample = JSON.parse(readFileSync(join(root, 'crates/hirc-core/tests/data/report-v1.json'), 'utf8'));
    const cli = (args, input) =>
      execFileSync(hirc, ['--data-dir', data, '--user', 'Chris', '--passphrase-stdin', ...args], { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'] });
    for (const [count, strands, incident_types] of seeded) {
      const file = join(work, `${strands.join('-')}.json`);
      writeFileSync(file, JSON.stringify({ ...sample, strands, incident_types }));
      for (let i = 0; i < count; i++) {
        const id = cli(['report', 'new', '--from', file], `${PASS}\n`).trim().split('\n').pop();
        cli(['report', 'submit', id], `${PASS}\n`);
      }
      rmSync(file);
    }

    // Summaries: the numbers on screen, small ones suppressed.
    await s.exec('document.getElementById("nav-summaries").click()');
    await s.waitText('#reports-taken', /25/);
    const strandCell = (label) =>
      s.exec(
        `const table = [...document.querySelectorAll('table')].find((t) => /strand/i.test(t.caption.textContent));
         const row = [...table.rows].find((r) => r.cells[0].textContent.trim() === arguments[0]);
         return row.cells[1].textContent.trim();`,
        [label],
      );
    assert.equal(await strandCell('Race or ethnicity'), '9');
    assert.equal(await strandCell('Disability'), '<5');
    assert.equal(await strandCell('Age'), '0');
    await s.exec('document.getElementById("reports-taken").scrollIntoView({ block: "start" })');
    await shot(s, '11-summaries');

    // The three exports, through the real save dialog (GTK, typed into with
    // xdotool as a person would): each lands where it was saved, whole,
    // owner-only, and holds the numbers but never the report's text.
    const out = join(work, 'exports');
    mkdirSync(out);
    const kinds = { csv: (b) => /Castle Point CVS/.test(b.toString()), pdf: (b) => b.subarray(0, 5).toString() === '%PDF-', xlsx: (b) => b.subarray(0, 2).toString() === 'PK' };
    for (const [format, looksRight] of Object.entries(kinds)) {
      const target = join(out, `summary.${format}`);
      await s.click(`#export-${format}`);
      saveAs(target);
      await s.waitText('#export-message', new RegExp(`summary\\.${format}`));
      const bytes = readFileSync(target);
      assert.ok(looksRight(bytes), `the ${format} export is not a ${format} file`);
      assert.ok(!bytes.includes(CANARY), `the ${format} export holds the report's text`);
      assert.equal(statSync(target).mode & 0o777, 0o600, `the ${format} export is readable by others`);
    }
    // Closing the dialog exports nothing and says nothing.
    await s.click('#export-csv');
    closeDialog();
    await sleep(500);
    assert.equal(readdirSync(out).length, 3);

    // Deleting a draft, in the real web view (where a browser confirm()
    // shows nothing and returns at once): asked on a page of its own.
    await s.click('#nav-home');
    await s.click('#new-report');
    await s.click('#f-reporter_role');
    await s.waitText('#save-state', /Saved/);
    await s.click('#save-home');
    await s.waitText('#count-drafts', /^1$/);
    await s.click('.draft__delete');
    await s.waitText('#delete-title', /Delete this draft/);
    await s.click('#delete-cancel');
    await s.waitText('#count-drafts', /^1$/);
    await s.click('.draft__delete');
    await s.click('#delete-confirm');
    await s.wait('#deleted-notice');
    await s.waitText('#count-drafts', /^0$/);

    // At the person's request, a coordinator erases the walk's report: the
    // page asks once more; the desk keeps only the fact of it, and the
    // worker has the hub erase its copy (the desk then says the hub
    // confirmed it: waited for as observed, not for a set time).
    await s.click('#nav-home');
    await s.type('#find-reference', reference);
    await s.click('#find-button');
    await s.waitText('#page-title', new RegExp(reference));
    // First, a copy for the person of everything the desk holds (through
    // the real save dialog): their account is in it, and only they and
    // the coordinator may read the file.
    const copy = join(work, 'slips', 'copy.pdf');
    await s.click('#page-access-save');
    saveAs(copy, 'Save a copy for the person');
    await s.waitText('#page-access-saved', /copy\.pdf/);
    assert.equal(statSync(copy).mode & 0o777, 0o600, 'the copy is readable by others');
    const copyText = execFileSync('pdftotext', [copy, '-'], { encoding: 'utf8' }).replace(/\s+/g, ' ');
    assert.ok(copyText.includes(CANARY), "the copy lacks the person's account");
    assert.match(copyText, new RegExp(reference));
    // Then, apart, the files they gave, through the real folder dialog:
    // into a new folder only this account opens, made inside the one
    // chosen (a folder as anyone makes it, open to others), each file as
    // the desk keeps it, the photo without its EXIF.
    const stick = join(work, 'stick');
    mkdirSync(stick, { mode: 0o755 });
    await s.waitText('#page-access-files', /\(2\)/);
    await s.click('#page-access-files');
    pickFolder(stick, 'Choose where to save the files the person gave');
    await s.waitText('#page-access-files-saved', new RegExp(`files-for-the-person-${reference}`));
    await s.exec('document.getElementById("page-access-files-saved").scrollIntoView({ block: "center" })');
    await shot(s, '09f-person-files');
    const given = join(stick, `files-for-the-person-${reference}`);
    assert.equal(statSync(given).mode & 0o777, 0o700, 'others can open the folder of their files');
    assert.deepEqual(readdirSync(given).sort(), [`${reference}-1.jpg`, `${reference}-2.png`]);
    for (const f of readdirSync(given)) {
      const bytes = readFileSync(join(given, f));
      assert.equal(statSync(join(given, f)).mode & 0o777, 0o600, `${f} is readable by others`);
      assert.ok(!bytes.includes(EXIF_CANARY), `${f} keeps the photo's EXIF`);
      assert.ok(!bytes.includes('Exif'), `${f} has an EXIF block`);
    }
    assert.deepEqual([...readFileSync(join(given, `${reference}-1.jpg`)).subarray(0, 3)], [0xff, 0xd8, 0xff], 'the photo is a JPEG');
    assert.deepEqual([...readFileSync(join(given, `${reference}-2.png`)).subarray(1, 4)], [0x50, 0x4e, 0x47], 'the screenshot is a PNG');
    await s.click('#erase-ask');
    await s.wait('#erase-confirm-panel');
    await shot(s, '09e-erase-asked');
    await s.click('#erase-confirm');
    await s.waitText('#erased-title', /was erased/);
    await s.click('#erased-home');
    for (let i = 0; ; i++) {
      const shown = spawnSync(hirc, ['--data-dir', data, '--user', 'Chris', '--passphrase-stdin', 'report', 'show', reference], {
        input: `${PASS}\n`,
        encoding: 'utf8',
      });
      if (shown.stderr.includes('the hub confirmed it erased its copy')) break;
      assert.ok(i < 600, `the hub never confirmed the erasure: ${shown.stderr}`);
      await sleep(100);
    }
    // Settings lists it, with the hub's confirmation.
    await s.click('#nav-settings');
    await s.waitText('#erasures', /The hub confirmed it erased its copy/);
    assert.match(await s.text('#erasures'), new RegExp(reference));
    await s.exec('document.getElementById("erasures").scrollIntoView()');
    await shot(s, '10e-settings-erasures');
    await s.click('#nav-home');

    // Lock, then quick-hide.
    await s.click('#lock');
    await s.wait('#unlock');
    await s.type('#passphrase', PASS);
    await s.click('#unlock');
    await s.wait('#new-report');
    await s.keys(KEY.ESCAPE, KEY.ESCAPE);
    await s.wait('#hidden');
    const hidden = await s.text('body');
    assert.doesNotMatch(hidden, /report|CP-|Chris/i, 'the neutral screen shows nothing of the desk');
    await shot(s, '12-quick-hide');
    await s.click('#hidden button');
    await s.wait('#unlock'); // hidden means locked

    // GTK's recently-used list, which file managers show anyone at the
    // computer, names none of the files the dialogs saved (the slip, the
    // exports, the person's copy), seconds after the last of them.
    const recent = join(homedir(), '.local/share/recently-used.xbel');
    const recentlyUsed = existsSync(recent) ? readFileSync(recent, 'utf8') : '';
    const named = recentlyUsed.split('\n').filter((line) => line.includes(work));
    assert.deepEqual(named, [], "GTK listed the desk's files as recently used");
  } catch (e) {
    // What the window showed when it failed, for whoever reads the log.
    const png = join(tmpdir(), 'hirc-app-failure.png');
    if (s) writeFileSync(png, await s.screenshot().catch(() => Buffer.alloc(0)));
    const main = s ? await s.text('main').catch(() => '') : '';
    throw new Error(`${e.message}\n--- the window showed (screenshot: ${png}):\n${main}`);
  } finally {
    await s?.close();
    d.stop();
    hub?.stop();
  }
  // Nothing readable on disk or in the logs: the description never appears
  // in any file of the desk (store, WAL, resume file, log) nor in what the
  // app wrote to standard error (tauri-driver passes it through).
  const written = files(data);
  assert.ok(written.some((f) => f.endsWith('hirc.log')), 'the app keeps a log');
  for (const f of written) {
    assert.ok(!readFileSync(f).includes(CANARY), `${f} holds the report's text`);
    assert.ok(!readFileSync(f).includes(EXIF_CANARY), `${f} holds the photo's EXIF`);
  }
  // Each export is in the desk's audit log (read with the CLI, as a
  // coordinator would).
  const audit = execFileSync(hirc, ['--data-dir', data, '--user', 'Chris', '--passphrase-stdin', 'audit'], {
    input: `${PASS}\n`,
    encoding: 'utf8',
  });
  for (const format of ['csv', 'pdf', 'xlsx']) {
    assert.match(audit, new RegExp(`export +summary \\d{4}-\\d{2}-\\d{2} to \\d{4}-\\d{2}-\\d{2} \\(${format}\\)`));
  }
  assert.match(d.log(), /report sealed and queued/, "the app's standard error was captured");
  assert.ok(!d.log().includes(CANARY), "the app's standard error holds the report's text");
  rmSync(work, { recursive: true, force: true });
});

test('the desk warns before it locks, a key keeps it open, and the Rust side locks it; the same person goes back to the same step; the language is kept', { timeout: 180_000 }, async () => {
  const work = mkdtempSync(join(tmpdir(), 'hirc-app-lock-'));
  const data = join(work, 'desk');
  const cli = (args, input) =>
    execFileSync(hirc, ['--data-dir', data, '--passphrase-stdin', ...args], { input, encoding: 'utf8', stdio: ['pipe', 'pipe', 'pipe'], env: { ...process.env, HIRC_INSECURE_KDF_LOG_N: '10' } });
  cli(['init', '--centre', 'Castle Point CVS', '--centre-code', 'CP', '--coordinator', 'Chris'], `${PASS}\n`);
  cli(['--user', 'Chris', 'user', 'add', 'Ali', '--role', 'ambassador'], `${PASS}\n${PASS}\n`);
  cli(['--user', 'Chris', 'settings', '--auto-lock-minutes', '1', '--interview-lock-minutes', '1'], `${PASS}\n`);
  // An auto-lock "minute" of 20 seconds (debug builds only): the warning
  // shows after 10 s without a key, and the desk locks at 20 s. The 10 s
  // of warning are the test's time to press a key, even on a busy machine.
  const env = { HIRC_DATA_DIR: data, NO_AT_BRIDGE: '1', HIRC_LOG: 'info', HIRC_TEST_MINUTE_SECONDS: '20' };
  const d = await startDriver(driver, env);
  let s;
  try {
    s = await Session.open(d.base, app);
    await s.wait('#unlock');
    await s.exec('const l = document.getElementById("language"); l.value = "pl"; l.dispatchEvent(new Event("change", { bubbles: true }));');
    await s.waitText('#unlock', /Odblokuj/);
    await s.click('#user-1'); // Ali
    await s.type('#passphrase', PASS);
    await s.click('#unlock');
    await s.click('#new-report');
    await s.click('#f-reporter_role');
    await s.click('#continue');
    await s.wait('#f-description');
    await s.type('#f-description', 'Listening');
    await s.waitText('#save-state', /Zapisano/);
    // Nothing pressed for a while: the countdown, over the form, without
    // taking the focus; a key (a real one, through WebDriver) dismisses it
    // and lands in the box.
    await s.wait('#lock-warning', 30_000);
    assert.equal(await s.exec('return document.activeElement.id'), 'f-description');
    await shot(s, '13-lock-warning');
    await s.keys('!');
    assert.equal(await s.exec('return document.querySelectorAll("#lock-warning").length'), 0, 'a key dismisses the warning');
    assert.equal(await s.value('#f-description'), 'Listening!');
    // Nothing more: the Rust side locks the desk and tells the window.
    await s.wait('#unlock', 45_000);
    // The app's log reaches the test through a pipe: waited for.
    for (const end = Date.now() + 30_000; !/the desk locked itself after \d+ s without use/.test(d.log()) && Date.now() < end; ) {
      await new Promise((r) => setTimeout(r, 100));
    }
    assert.match(d.log(), /the desk locked itself after \d+ s without use/);
    assert.equal(await s.exec('return document.querySelector("input[name=user]:checked")?.id ?? null'), 'user-1', 'the same person is chosen already');
    await s.type('#passphrase', PASS);
    await s.click('#unlock');
    await s.wait('#f-description');
    assert.equal(await s.exec('return document.getElementById("step-title").dataset.step'), 'what', 'back at the same step');
    await s.waitFor('return document.getElementById("f-description")?.value === "Listening!"', 'the text typed before the lock');
    // The app reopens in the language it was closed in.
    await s.close();
    s = await Session.open(d.base, app);
    await s.wait('#unlock');
    assert.equal(await s.exec('return document.documentElement.lang'), 'pl');
  } catch (e) {
    const png = join(tmpdir(), 'hirc-app-lock-failure.png');
    if (s) writeFileSync(png, await s.screenshot().catch(() => Buffer.alloc(0)));
    const main = s ? await s.text('main').catch(() => '') : '';
    throw new Error(`${e.message}\n--- the window showed (screenshot: ${png}):\n${main}\n--- log:\n${d.log().slice(-3000)}`);
  } finally {
    await s?.close();
    d.stop();
  }
  rmSync(work, { recursive: true, force: true });
});
