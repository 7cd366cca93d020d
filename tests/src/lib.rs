//! Helpers for end-to-end tests: run the real `hirc` binary on a real desk
//! in a temporary directory, and keep everything it printed so privacy tests
//! can scan it.
//!
//! The binaries are found next to the test executable (`target/debug`), so
//! build the workspace first (`cargo build --workspace`): `scripts/test`
//! does, before it runs the tests.

mod fault_proxy;
pub use fault_proxy::{Fault, FaultProxy};

use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// The coordinator every test desk starts with.
pub const COORDINATOR: &str = "Chris";
/// Their passphrase.
pub const COORDINATOR_PASS: &str = "chris passphrase";
/// The scrypt work factor tests use (the real default takes ~1 s per unlock).
pub const TEST_KDF_LOG_N: &str = "10";

/// The path of a workspace binary, e.g. `hirc`.
pub fn bin(name: &str) -> PathBuf {
    if let Ok(path) = std::env::var(format!("{}_BIN", name.to_uppercase().replace('-', "_"))) {
        return PathBuf::from(path);
    }
    let exe = std::env::current_exe().expect("test executable path");
    // target/debug/deps/test-xxxx -> target/debug/NAME
    let dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("target directory");
    let path = dir.join(format!("{name}{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is not built; run `cargo build --workspace` (or scripts/test) first",
        path.display()
    );
    path
}

/// What one run printed.
#[derive(Debug, Clone)]
pub struct Run {
    /// The command line, for messages.
    pub args: Vec<String>,
    /// Exit code (-1 if killed by a signal).
    pub code: i32,
    /// Standard output.
    pub stdout: String,
    /// Standard error.
    pub stderr: String,
}

impl Run {
    /// Panics with everything printed unless the exit code is `code`.
    #[track_caller]
    pub fn expect_code(self, code: i32) -> Self {
        assert_eq!(
            self.code,
            code,
            "`hirc {}` exited {} (wanted {code})\nstdout:\n{}\nstderr:\n{}",
            self.args.join(" "),
            self.code,
            self.stdout,
            self.stderr
        );
        self
    }

    /// Panics unless it succeeded.
    #[track_caller]
    pub fn ok(self) -> Self {
        self.expect_code(0)
    }

    /// The last non-empty line of standard output (ids, references).
    pub fn last_line(&self) -> String {
        self.stdout
            .lines()
            .rev()
            .find(|l| !l.trim().is_empty())
            .unwrap_or("")
            .trim()
            .to_string()
    }
}

/// A desk in a temporary directory, and every run made on it.
pub struct TestDesk {
    dir: tempfile::TempDir,
    /// Every run so far, in order.
    pub runs: Vec<Run>,
}

impl Default for TestDesk {
    fn default() -> Self {
        Self::new()
    }
}

impl TestDesk {
    /// An empty data directory (no desk yet).
    pub fn new() -> Self {
        Self {
            dir: tempfile::tempdir().expect("temporary directory"),
            runs: Vec::new(),
        }
    }

    /// An empty data directory inside `parent` (no desk yet).
    pub fn new_in(parent: &Path) -> Self {
        Self {
            dir: tempfile::tempdir_in(parent).expect("temporary directory"),
            runs: Vec::new(),
        }
    }

    /// A desk set up with [`COORDINATOR`]; returns it and the recovery code.
    pub fn init() -> (Self, String) {
        Self::init_in(None)
    }

    /// [`TestDesk::init`] inside `parent` (a small file system, say).
    pub fn init_in(parent: Option<&Path>) -> (Self, String) {
        let mut desk = parent.map_or_else(Self::new, Self::new_in);
        let run = desk
            .run(
                &[
                    "init",
                    "--centre",
                    "Castle Point CVS",
                    "--centre-code",
                    "CP",
                    "--coordinator",
                    COORDINATOR,
                ],
                &format!("{COORDINATOR_PASS}\n"),
            )
            .ok();
        let code = run
            .stdout
            .lines()
            .map(str::trim)
            .find(|l| l.len() == 35 && l.matches('-').count() == 5)
            .expect("recovery code printed")
            .to_string();
        (desk, code)
    }

    /// The data directory.
    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// A copy of this desk's data directory as it is now, with no `hirc`
    /// running on it: the same desk, as a copy taken before a fault would
    /// leave it.
    pub fn copy(&self) -> Self {
        fn copy_tree(from: &Path, to: &Path) {
            for entry in std::fs::read_dir(from).expect("list the desk's files") {
                let entry = entry.expect("entry");
                let target = to.join(entry.file_name());
                if entry.file_type().expect("file type").is_dir() {
                    std::fs::create_dir(&target).expect("make a folder");
                    copy_tree(&entry.path(), &target);
                } else {
                    std::fs::copy(entry.path(), &target).expect("copy a file");
                }
            }
        }
        let copy = Self::new();
        copy_tree(self.path(), copy.path());
        copy
    }

    /// Runs `hirc --passphrase-stdin ARGS` with `stdin`.
    pub fn run(&mut self, args: &[&str], stdin: &str) -> Run {
        self.run_with(args, stdin.as_bytes())
    }

    /// As the coordinator: their passphrase is line 1, `more` follows.
    pub fn as_coordinator(&mut self, args: &[&str], more: &str) -> Run {
        let mut full = vec!["--user", COORDINATOR];
        full.extend_from_slice(args);
        self.run(&full, &format!("{COORDINATOR_PASS}\n{more}"))
    }

    /// Runs with raw bytes on standard input.
    pub fn run_with(&mut self, args: &[&str], stdin: &[u8]) -> Run {
        let mut child = Command::new(bin("hirc"))
            .arg("--passphrase-stdin")
            .args(args)
            .env("HIRC_DATA_DIR", self.path())
            .env("HIRC_INSECURE_KDF_LOG_N", TEST_KDF_LOG_N)
            .env_remove("HIRC_USER")
            .env_remove("HIRC_LOG")
            .env_remove("RUST_BACKTRACE")
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start hirc");
        if let Some(mut input) = child.stdin.take() {
            // The command may exit before reading everything (an error).
            let _ = input.write_all(stdin);
        }
        let out = child.wait_with_output().expect("hirc finished");
        let run = Run {
            args: args.iter().map(|a| (*a).to_string()).collect(),
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        };
        self.runs.push(run.clone());
        run
    }

    /// `hirc summary` of the reports taken today, as the coordinator, with
    /// `extra` flags (threshold, format, output).
    pub fn summary_of_today(&mut self, extra: &[&str]) -> Run {
        let today = desk_today();
        let mut args = vec!["summary", "--from", &today, "--to", &today];
        args.extend_from_slice(extra);
        self.as_coordinator(&args, "")
    }

    /// Every file below the data directory, with its bytes.
    pub fn files(&self) -> Vec<(PathBuf, Vec<u8>)> {
        files_under(self.path())
    }
}

/// Every file below `dir`, with its bytes.
pub fn files_under(dir: &Path) -> Vec<(PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).expect("read dir") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                stack.push(path);
            } else {
                let bytes = std::fs::read(&path).expect("read file");
                out.push((path, bytes));
            }
        }
    }
    out
}

/// Today on the desk's calendar, `YYYY-MM-DD`: the day summaries count a
/// report taken now under (hirc_core::time::desk_date, the local date).
pub fn desk_today() -> String {
    let out = Command::new("date")
        .arg("+%Y-%m-%d")
        .output()
        .expect("date");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

/// Whether `needle` occurs in `haystack`.
pub fn contains(haystack: &[u8], needle: &str) -> bool {
    let needle = needle.as_bytes();
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// The shared example report (`shared/examples/report-v1.json`, kept in the
/// repository so the tests are self-contained).
pub const EXAMPLE_REPORT: &str = include_str!("../../crates/hirc-core/tests/data/report-v1.json");

/// A real `hirc-hub serve` on a free loopback port, stopped when dropped.
pub struct HubProcess {
    child: std::process::Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// Everything the hub logged (standard error), filled as it runs.
    pub log: std::sync::Arc<std::sync::Mutex<String>>,
    /// The thread filling `log`; it ends when the hub's standard error
    /// closes (the hub has exited).
    log_reader: Option<std::thread::JoinHandle<()>>,
}

impl HubProcess {
    /// Starts a hub on `data_dir` with `recipient` and any extra flags, and
    /// waits until it says it is listening.
    pub fn start(data_dir: &Path, recipient: &str, extra: &[&str]) -> Self {
        Self::start_on(data_dir, recipient, "127.0.0.1:0", extra)
    }

    /// Like [`HubProcess::start`], on a given address (to restart a hub
    /// where its desks expect it).
    pub fn start_on(data_dir: &Path, recipient: &str, listen: &str, extra: &[&str]) -> Self {
        Self::start_under(&[], data_dir, recipient, listen, extra)
    }

    /// Like [`HubProcess::start_on`], run under `wrapper` (such as
    /// `prlimit --nofile=1024:1024 --`, as a service manager would limit it).
    pub fn start_under(
        wrapper: &[&str],
        data_dir: &Path,
        recipient: &str,
        listen: &str,
        extra: &[&str],
    ) -> Self {
        use std::io::{BufRead, BufReader};
        let hub = bin("hirc-hub");
        let mut command = match wrapper.split_first() {
            Some((program, args)) => {
                let mut c = Command::new(program);
                c.args(args).arg(&hub);
                c
            }
            None => Command::new(&hub),
        };
        let mut child = command
            .args(["serve", "--listen", listen, "--recipient", recipient])
            .arg("--data-dir")
            .arg(data_dir)
            .args(extra)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start hirc-hub");
        let log = std::sync::Arc::new(std::sync::Mutex::new(String::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = log.clone();
        let log_reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                let mut log = sink
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                log.push_str(&line);
                log.push('\n');
            }
        });
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
        let mut line = String::new();
        stdout.read_line(&mut line).expect("hub says it is ready");
        let url = line
            .trim()
            .strip_prefix("hirc-hub listening on ")
            .unwrap_or_else(|| panic!("unexpected first line from hirc-hub: {line:?}"))
            .to_string();
        Self {
            child,
            url,
            log,
            log_reader: Some(log_reader),
        }
    }

    /// The hub's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// The hub's resident memory in KiB (Linux).
    pub fn rss_kib(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.pid()))
            .expect("the hub's /proc status");
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .expect("VmRSS")
    }

    /// How many files (sockets included) the hub has open (Linux).
    pub fn open_files(&self) -> usize {
        std::fs::read_dir(format!("/proc/{}/fd", self.pid()))
            .map(|d| d.count())
            .unwrap_or(0)
    }

    /// Stops the hub as a service manager would (SIGTERM) and waits for it;
    /// returns whether it exited cleanly.
    pub fn terminate(mut self) -> bool {
        let sent = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        assert!(sent.is_ok_and(|s| s.success()), "could not send SIGTERM");
        // Bounded generously: a busy machine only makes it slower.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while std::time::Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                // Everything it wrote is in `log` once its reader ends.
                if let Some(reader) = self.log_reader.take() {
                    let _ = reader.join();
                }
                return status.success();
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        false
    }
}

impl Drop for HubProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `hirc-hub ARGS` and returns what it printed.
pub fn hub_admin(args: &[&str]) -> Run {
    let out = Command::new(bin("hirc-hub"))
        .args(args)
        .output()
        .expect("run hirc-hub");
    Run {
        args: args.iter().map(|a| (*a).to_string()).collect(),
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A free loopback port (bound and released; good enough for tests).
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port")
}

/// Where a test hub keeps its data.
#[derive(Debug, Clone)]
pub enum Backend {
    /// The embedded SQLite store in a data directory.
    Sqlite,
    /// A PostgreSQL database (a fresh one per test).
    Postgres(String),
}

impl Backend {
    /// The `hirc-hub` flags that select this store.
    pub fn args(&self, data_dir: &Path) -> Vec<String> {
        match self {
            Backend::Sqlite => vec!["--data-dir".into(), data_dir.to_string_lossy().into_owned()],
            Backend::Postgres(url) => vec!["--database".into(), url.clone()],
        }
    }

    /// Everything the store holds, as bytes to scan for secrets: the SQLite
    /// files, or every PostgreSQL row as text.
    pub fn dump(&self, data_dir: &Path) -> Vec<u8> {
        match self {
            Backend::Sqlite => {
                let mut out = Vec::new();
                if let Ok(entries) = std::fs::read_dir(data_dir) {
                    for entry in entries.flatten() {
                        out.extend(std::fs::read(entry.path()).unwrap_or_default());
                    }
                }
                out
            }
            Backend::Postgres(url) => {
                let mut client = postgres::Client::connect(url, postgres::NoTls).expect("connect");
                let mut out = Vec::new();
                for table in ["devices", "enrol_codes", "reports"] {
                    for row in client
                        .query(&format!("SELECT t::text FROM {table} t"), &[])
                        .expect("dump")
                    {
                        out.extend(row.get::<_, String>(0).into_bytes());
                    }
                }
                out
            }
        }
    }
}

/// A new, empty PostgreSQL database on the `HIRC_TEST_POSTGRES` server, for
/// a test that needs PostgreSQL alone; `None` without one (not under CI,
/// where [`backends`] insists).
pub fn fresh_postgres() -> Option<String> {
    backends().into_iter().find_map(|b| match b {
        Backend::Postgres(url) => Some(url),
        Backend::Sqlite => None,
    })
}

/// The back ends every hub test runs on: SQLite always, and PostgreSQL when
/// `HIRC_TEST_POSTGRES` names a server (`scripts/test` starts one and sets
/// it; under CI it must be set).
pub fn backends() -> Vec<Backend> {
    let mut out = vec![Backend::Sqlite];
    match std::env::var("HIRC_TEST_POSTGRES") {
        Ok(base) => {
            let name =
                format!("hirc_e2e_{}", std::process::id()) + &format!("_{:x}", rand_suffix());
            let mut admin = postgres::Client::connect(&base, postgres::NoTls)
                .expect("connect to HIRC_TEST_POSTGRES");
            admin
                .batch_execute(&format!("CREATE DATABASE {name}"))
                .expect("create database");
            let (prefix, _) = base.rsplit_once('/').expect("a database URL");
            out.push(Backend::Postgres(format!("{prefix}/{name}")));
        }
        Err(_) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "HIRC_TEST_POSTGRES must be set under CI (scripts/test sets it)"
            );
            eprintln!("HIRC_TEST_POSTGRES is not set: hub tests run on SQLite only");
        }
    }
    out
}

fn rand_suffix() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.finish()
}

/// Every cell of every sheet of a workbook, as text, one cell per line.
pub fn workbook_text(path: &Path) -> String {
    use calamine::{Reader, Xlsx, open_workbook};
    let mut book: Xlsx<_> = open_workbook(path).expect("the workbook opens");
    let mut out = String::new();
    for name in book.sheet_names() {
        let range = book.worksheet_range(&name).expect("a sheet");
        for row in range.rows() {
            for cell in row {
                out.push_str(&cell.to_string());
                out.push('\n');
            }
        }
    }
    out
}

/// The text of a PDF as `pdftotext` (poppler) reads it, in layout order.
pub fn pdf_text(path: &Path) -> String {
    let out = Command::new("pdftotext")
        .args(["-layout", "-enc", "UTF-8"])
        .arg(path)
        .arg("-")
        .output()
        .expect("pdftotext (Debian's poppler-utils) runs");
    assert!(
        out.status.success(),
        "pdftotext could not read {}: {}",
        path.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// HAProxy in front of hub processes, as a partnership runs replicas: it
/// sends each request to a hub whose `/v1/ready` answers, round robin.
pub struct Balancer {
    child: std::process::Child,
    config: PathBuf,
    log: PathBuf,
    /// `http://127.0.0.1:PORT`, where desks reach the hubs.
    pub url: String,
}

impl Balancer {
    /// Whether HAProxy is installed. Under CI it must be (`scripts/test`
    /// installs it); elsewhere a test without it says so and is skipped.
    pub fn available() -> bool {
        let found = Command::new("haproxy").arg("-v").output().is_ok();
        assert!(
            found || std::env::var_os("CI").is_none(),
            "haproxy must be installed under CI (scripts/test installs it)"
        );
        found
    }

    /// Starts HAProxy on a free loopback port, its files in `dir`, in front
    /// of the hubs at `hubs` (`http://127.0.0.1:PORT` each), and waits until
    /// it sends requests to a ready one.
    pub fn start(dir: &Path, hubs: &[&str]) -> Self {
        let mut balancer = Self {
            child: Command::new("true").spawn().expect("placeholder"),
            config: dir.join("haproxy.cfg"),
            log: dir.join("haproxy.log"),
            url: format!("http://127.0.0.1:{}", free_port()),
        };
        balancer.balance(hubs);
        balancer
    }

    /// Restarts HAProxy, on the same port, in front of `hubs`.
    pub fn balance(&mut self, hubs: &[&str]) {
        let all: Vec<(&str, bool)> = hubs.iter().map(|h| (*h, true)).collect();
        self.balance_checking(&all);
    }

    /// Like [`Balancer::balance`], health-checking only the hubs marked
    /// `true`: HAProxy goes on sending every other request to an unchecked
    /// one, even once it hangs.
    pub fn balance_checking(&mut self, hubs: &[(&str, bool)]) {
        let servers: String = hubs
            .iter()
            .enumerate()
            .map(|(i, (url, checked))| {
                let address = url.trim_start_matches("http://");
                let check = if *checked {
                    " check inter 100ms fall 1 rise 1"
                } else {
                    ""
                };
                format!("    server hub{i} {address}{check}\n")
            })
            .collect();
        let bind = self.url.trim_start_matches("http://");
        std::fs::write(
            &self.config,
            format!(
                "global\n    maxconn 1024\n\
                 defaults\n    mode http\n    timeout connect 2s\n    timeout client 30s\n    timeout server 30s\n    retries 2\n    option redispatch\n\
                 frontend desks\n    bind {bind}\n    default_backend hubs\n\
                 backend hubs\n    balance roundrobin\n    option httpchk GET /v1/ready\n{servers}"
            ),
        )
        .expect("haproxy.cfg");
        let _ = self.child.kill();
        let _ = self.child.wait();
        let log = std::fs::File::create(&self.log).expect("haproxy.log");
        self.child = Command::new("haproxy")
            .args(["-db", "-f"])
            .arg(&self.config)
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .expect("start haproxy (apt-get install haproxy)");
        let http = reqwest::blocking::Client::new();
        // Waited for as observed (a busy machine is slow to start it), and
        // what HAProxy said is shown if it never gets there.
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
        while !http
            .get(format!("{}/v1/ready", self.url))
            .send()
            .is_ok_and(|r| r.status() == reqwest::StatusCode::OK)
        {
            if std::time::Instant::now() > deadline
                || self.child.try_wait().ok().flatten().is_some()
            {
                panic!(
                    "HAProxy never sent requests to a ready hub; it said:\n{}",
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
    }
}

impl Drop for Balancer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
