// The desktop app's benchmarks (docs/benchmarks.md), run by scripts/bench-app
// under Xvfb on the release binary:
//
// - start-up: from the process starting (its start time in /proc) to the
//   unlock screen being usable (the UI's `hirc:interactive` User Timing
//   mark, set once the first screen is mounted), five launches, the first
//   with the page cache emptied when run as root (a cold start);
// - memory: after unlocking a desk holding 1,000 submitted reports, the
//   resident memory of the app's process and the proportional set size of
//   its whole process tree (the app plus WebKit's web and network processes);
// - size: the release binary.
//
// Usage: node tests/app/bench.mjs APP HIRC DRIVER
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Session, startDriver } from './webdriver.mjs';

const [app, hirc, driver] = process.argv.slice(2).map((p) => resolve(p));
const root = resolve(import.meta.dirname, '../..');
const sample = join(root, 'crates/hirc-core/tests/data/report-v1.json');
const REPORTS = Number(process.env.BENCH_REPORTS ?? 1000);
const LAUNCHES = 5;
const SEED_PASS = 'seeding passphrase, cheap to derive';
const PASS = 'benchmark passphrase with the real cost';

const work = mkdtempSync(join(tmpdir(), 'hirc-bench-app-'));
const desk = join(work, 'desk');
const mib = (kib) => (kib / 1024).toFixed(0);

function cli(args, input, env = {}) {
  return execFileSync(hirc, ['--data-dir', desk, '--passphrase-stdin', ...args], {
    input,
    encoding: 'utf8',
    env: { ...process.env, ...env },
    stdio: ['pipe', 'pipe', 'pipe'],
  }).trim();
}

/** A desk with REPORTS submitted reports. Seeding uses a cheap key
 *  derivation (thousands of CLI runs); the user the app unlocks as, added
 *  last, has the real, calibrated one, so unlocking costs what it costs. */
function seed() {
  const cheap = { HIRC_INSECURE_KDF_LOG_N: '10' };
  cli(['init', '--centre', 'Benchmark Centre', '--centre-code', 'BM', '--coordinator', 'Seed'], `${SEED_PASS}\n`, cheap);
  const started = Date.now();
  for (let i = 0; i < REPORTS; i++) {
    const id = cli(['--user', 'Seed', 'report', 'new', '--from', sample], `${SEED_PASS}\n`, cheap).split('\n').pop();
    cli(['--user', 'Seed', 'report', 'submit', id], `${SEED_PASS}\n`, cheap);
    if ((i + 1) % 100 === 0) process.stderr.write(`  seeded ${i + 1}/${REPORTS} reports (${((Date.now() - started) / 1000).toFixed(0)} s)\n`);
  }
  cli(['--user', 'Seed', 'user', 'add', 'Bench', '--role', 'coordinator'], `${SEED_PASS}\n${PASS}\n`);
}

/** The process's start, in ms since the epoch (10 ms resolution). */
function startedAt(pid) {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const ticks = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19]);
  const uptime = Number(readFileSync('/proc/uptime', 'utf8').split(' ')[0]);
  const hz = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }));
  return Date.now() - (uptime - ticks / hz) * 1000;
}

function pidOf(path) {
  const pids = readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0')[0] === path;
      } catch {
        return false;
      }
    });
  if (pids.length !== 1) throw new Error(`expected one ${path} process, found ${pids.length}`);
  return Number(pids[0]);
}

/** Waits for the app to exit, so the next launch is a new process (a second
 *  instance would only bring the first one forward). */
async function gone(path) {
  for (let i = 0; i < 100; i++) {
    try {
      pidOf(path);
    } catch {
      return;
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  execFileSync('pkill', ['-KILL', '-f', path]);
}

function tree(pid) {
  const children = readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .filter((p) => {
      try {
        const stat = readFileSync(`/proc/${p}/stat`, 'utf8');
        return Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]) === pid;
      } catch {
        return false;
      }
    })
    .map(Number);
  return [pid, ...children.flatMap(tree)];
}

function kib(pid, file, field) {
  const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(readFileSync(`/proc/${pid}/${file}`, 'utf8'));
  return m ? Number(m[1]) : 0;
}

async function interactiveAt(s) {
  for (let i = 0; i < 300; i++) {
    const at = await s.exec(
      "const m = performance.getEntriesByName('hirc:interactive')[0]; return m ? performance.timeOrigin + m.startTime : null;",
    );
    if (at) return at;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error('the app never became interactive');
}

const env = { HIRC_DATA_DIR: desk, NO_AT_BRIDGE: '1' };
try {
  process.stderr.write(`==> seeding a desk with ${REPORTS} submitted reports\n`);
  seed();
  const d = await startDriver(driver, env);
  try {
    // The first launch is cold when the page cache can be emptied (root):
    // the binary and WebKit's libraries are then read from disk.
    let cold = false;
    try {
      execFileSync('sync');
      writeFileSync('/proc/sys/vm/drop_caches', '3');
      cold = true;
    } catch {
      // not root: the first launch is merely the first
    }
    const starts = [];
    for (let i = 0; i < LAUNCHES; i++) {
      const s = await Session.open(d.base, app);
      const ready = await interactiveAt(s);
      starts.push(ready - startedAt(pidOf(app)));
      await s.wait('#unlock');
      await s.close();
      await gone(app);
    }
    const s = await Session.open(d.base, app);
    await s.wait('#unlock');
    await s.exec("[...document.querySelectorAll('input[name=user]')].find((i) => i.parentElement.textContent.includes('Bench')).click()");
    await s.type('#passphrase', PASS);
    const t0 = Date.now();
    await s.click('#unlock');
    await s.waitText('#count-waiting', new RegExp(`^${REPORTS}$`), 60000);
    const unlockMs = Date.now() - t0;
    await new Promise((r) => setTimeout(r, 3000)); // let the sync worker and the page settle
    const pid = pidOf(app);
    const pids = tree(pid);
    const rss = kib(pid, 'status', 'VmRSS');
    const hwm = kib(pid, 'status', 'VmHWM');
    const each = pids.map((p) => ({ name: readFileSync(`/proc/${p}/comm`, 'utf8').trim(), pss: kib(p, 'smaps_rollup', 'Pss'), rss: kib(p, 'status', 'VmRSS') }));
    const pss = each.reduce((sum, p) => sum + p.pss, 0);
    await s.close();

    const sorted = [...starts].sort((a, b) => a - b);
    const result = {
      binary_bytes: statSync(app).size,
      start_ms: { cold,
        first: Math.round(starts[0]), median: Math.round(sorted[Math.floor(sorted.length / 2)]), all: starts.map(Math.round) },
      unlock_to_home_ms: unlockMs,
      app_rss_kib: rss,
      app_peak_rss_kib: hwm,
      tree_pss_kib: pss,
      processes: each,
      reports: REPORTS,
    };
    console.log(`release binary:                         ${(result.binary_bytes / 1048576).toFixed(1)} MiB`);
    console.log(`start to unlock screen usable:          ${cold ? 'cold' : 'first'} ${result.start_ms.first} ms, median ${result.start_ms.median} ms of ${LAUNCHES} (${result.start_ms.all.join(', ')})`);
    console.log(`unlock to home with ${REPORTS} reports listed: ${unlockMs} ms (real key derivation included)`);
    console.log(`memory after unlock, app process:       ${mib(rss)} MiB resident (peak ${mib(hwm)} MiB, during key derivation)`);
    console.log(`memory after unlock, with WebKit:       ${mib(pss)} MiB proportional, ${pids.length} processes`);
    for (const p of each) console.log(`  ${p.name.padEnd(20)} ${mib(p.rss).padStart(5)} MiB resident, ${mib(p.pss).padStart(5)} MiB proportional`);
    if (process.env.BENCH_JSON) writeFileSync(process.env.BENCH_JSON, JSON.stringify(result, null, 2));
  } finally {
    d.stop();
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}
