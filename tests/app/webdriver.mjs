// A small WebDriver client over fetch, and the helpers the end-to-end
// tests of the real app share: start tauri-driver on free ports, open a
// session on the built binary, find, type, click, wait.
import { spawn } from 'node:child_process';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

const ELEMENT = 'element-6066-11e4-a52e-4f735466cecf';

export async function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

/** Starts tauri-driver with unique ports and waits until it answers. */
export async function startDriver(driverPath, env) {
  const port = await freePort();
  const nativePort = await freePort();
  const child = spawn(
    driverPath,
    ['--port', String(port), '--native-port', String(nativePort), '--native-driver', '/usr/bin/WebKitWebDriver'],
    // Its own process group, so stopping it also stops WebKitWebDriver and
    // the app it started: an orphan holding our stderr pipe would keep node
    // (and so the whole test run) waiting after the test has finished.
    { env: { ...process.env, ...env }, stdio: ['ignore', 'ignore', 'pipe'], detached: true },
  );
  let log = '';
  child.stderr.on('data', (d) => (log += d));
  const base = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 100; i++) {
    try {
      const r = await fetch(`${base}/status`);
      if (r.ok) return { base, child, log: () => log, stop: () => stopGroup(child) };
    } catch {
      // not up yet
    }
    await sleep(100);
  }
  stopGroup(child);
  throw new Error(`tauri-driver did not start: ${log}`);
}

function stopGroup(child) {
  try {
    process.kill(-child.pid, 'SIGKILL');
  } catch {
    // already gone
  }
  child.stderr?.destroy();
}

async function call(base, method, path, body) {
  const r = await fetch(`${base}${path}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    // A driver that died must fail the test, not hang it.
    signal: AbortSignal.timeout(60_000),
  });
  const json = await r.json().catch(() => ({}));
  if (!r.ok) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(json.value ?? json)}`);
  return json.value;
}

export class Session {
  static async open(base, application) {
    const value = await call(base, 'POST', '/session', {
      capabilities: { alwaysMatch: { browserName: 'wry', 'tauri:options': { application } } },
    });
    return new Session(base, value.sessionId);
  }
  constructor(base, id) {
    this.base = base;
    this.id = id;
  }
  cmd(method, path, body) {
    return call(this.base, method, `/session/${this.id}${path}`, body);
  }
  async close() {
    await this.cmd('DELETE', '').catch(() => {});
  }
  async find(css) {
    const el = await this.cmd('POST', '/element', { using: 'css selector', value: css });
    return el[ELEMENT];
  }
  /** Waits until `css` matches a displayed element, and returns it. */
  async wait(css, timeout = 60_000) {
    const end = Date.now() + timeout;
    let last;
    while (Date.now() < end) {
      try {
        const id = await this.find(css);
        if (await this.cmd('GET', `/element/${id}/displayed`)) return id;
      } catch (e) {
        last = e;
      }
      await sleep(100);
    }
    throw new Error(`timed out waiting for ${css}: ${last?.message ?? 'not displayed'}`);
  }
  /** Waits until the text of `css` matches `re`; returns the text. */
  async waitText(css, re, timeout = 60_000) {
    const end = Date.now() + timeout;
    let text = '';
    while (Date.now() < end) {
      try {
        text = await this.text(css);
        if (re.test(text)) return text;
      } catch {
        // not there yet
      }
      await sleep(150);
    }
    throw new Error(`timed out waiting for ${css} to match ${re}; last text: ${JSON.stringify(text)}`);
  }
  /** Waits until `script` (a function body) returns true. */
  async waitFor(script, what, timeout = 60_000) {
    const end = Date.now() + timeout;
    while (Date.now() < end) {
      if (await this.exec(script).catch(() => false)) return;
      await sleep(150);
    }
    throw new Error(`timed out waiting for ${what}`);
  }
  async click(css) {
    const id = await this.wait(css);
    await this.cmd('POST', `/element/${id}/click`, {});
  }
  async type(css, text) {
    const id = await this.wait(css);
    await this.cmd('POST', `/element/${id}/value`, { text });
  }
  async text(css) {
    const id = await this.find(css);
    return this.cmd('GET', `/element/${id}/text`);
  }
  async value(css) {
    const id = await this.find(css);
    return this.cmd('GET', `/element/${id}/property/value`);
  }
  async exec(script, args = []) {
    return this.cmd('POST', '/execute/sync', { script, args });
  }
  /** Presses keys on whatever has focus (WebDriver key codes). */
  async keys(...keys) {
    const actions = keys.flatMap((k) => [
      { type: 'keyDown', value: k },
      { type: 'keyUp', value: k },
    ]);
    await this.cmd('POST', '/actions', { actions: [{ type: 'key', id: 'keyboard', actions }] });
    await this.cmd('DELETE', '/actions').catch(() => {});
  }
  async screenshot() {
    return Buffer.from(await this.cmd('GET', '/screenshot'), 'base64');
  }
}

export const KEY = { ESCAPE: '\uE00C', TAB: '\uE004', ENTER: '\uE007' };
