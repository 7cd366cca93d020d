//! Where a desk's log lines go, for the command line and the app alike:
//! `<data dir>/logs/hirc.log` (owner-only), and when asked (`--verbose`, or
//! `HIRC_LOG` set for the app) to standard error too. The engine logs ids,
//! sizes and events, never content; the canary tests scan this file to hold
//! it to that.
//!
//! The file is rotated by size (`hirc.log.1`, … `hirc.log.4`, the oldest
//! dropped), so a desk that runs for years keeps at most
//! [`MAX_LOG_BYTES`] × ([`KEPT_LOGS`] + 1) of log.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard, PoisonError};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;

/// A log file is rotated once it passes this size (bytes).
pub const MAX_LOG_BYTES: usize = 1024 * 1024;
/// Rotated files kept besides the current one.
pub const KEPT_LOGS: usize = 4;

/// Sets up logging for this process (once; later calls do nothing).
pub fn init(data_dir: &Path, verbose: bool) {
    let file_layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_target(false)
        .with_writer(LogFile::new(
            data_dir.join("logs"),
            MAX_LOG_BYTES,
            KEPT_LOGS,
        ))
        .with_filter(filter("info"));
    let stderr_layer = verbose.then(|| {
        tracing_subscriber::fmt::layer()
            .with_target(false)
            .with_writer(std::io::stderr)
            .with_filter(filter("debug"))
    });
    tracing_subscriber::registry()
        .with(file_layer)
        .with(stderr_layer)
        .try_init()
        .ok();
}

fn filter(default: &str) -> EnvFilter {
    EnvFilter::try_from_env("HIRC_LOG").unwrap_or_else(|_| EnvFilter::new(default))
}

/// The log file, opened at the first line written once the desk's folder
/// exists: before `init` there is no folder, and none is made by accident.
///
/// The app and the login service (`hirc sync --watch`) write the same file
/// at once, so rotation must not assume one writer: before each line the
/// file open here is checked to still be `hirc.log` (another process may
/// have rotated it away), and rotating is a chain of renames that tolerate
/// a file already moved or missing. file-rotate, tried first, keeps its own
/// list of rotated files and panics when another process changes it.
struct LogFile {
    dir: PathBuf,
    max_bytes: u64,
    kept: usize,
    file: Mutex<Option<File>>,
}

impl LogFile {
    fn new(dir: PathBuf, max_bytes: usize, kept: usize) -> Self {
        Self {
            dir,
            max_bytes: max_bytes as u64,
            kept,
            file: Mutex::new(None),
        }
    }

    fn path(&self) -> PathBuf {
        self.dir.join("hirc.log")
    }

    /// `hirc.log.N`.
    fn rotated(&self, n: usize) -> PathBuf {
        self.dir.join(format!("hirc.log.{n}"))
    }

    fn open(&self) -> Option<File> {
        let desk_dir = self.dir.parent()?;
        if !desk_dir.is_dir() || std::fs::create_dir_all(&self.dir).is_err() {
            return None;
        }
        restrict(&self.dir, 0o700);
        let path = self.path();
        let mut options = OpenOptions::new();
        options.create(true).append(true);
        #[cfg(unix)]
        std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
        let file = options.open(&path).ok()?;
        // A file left by an older version keeps the mode it was made with.
        restrict(&path, 0o600);
        Some(file)
    }

    /// The file to write the next line to: the one open if it is still
    /// `hirc.log` and not full, else `hirc.log` after rotating it.
    fn current(&self, open: &mut Option<File>) {
        let on_disk = std::fs::metadata(self.path()).ok();
        let still_ours = match (open.as_ref(), &on_disk) {
            (Some(file), Some(disk)) => same_file(file, disk),
            _ => false,
        };
        if !still_ours {
            *open = self.open();
        }
        let full = open
            .as_ref()
            .and_then(|f| f.metadata().ok())
            .is_some_and(|m| m.len() >= self.max_bytes);
        if full {
            self.rotate();
            *open = self.open();
        }
    }

    /// hirc.log → .1 → .2 …, the oldest dropped. Every step may find its
    /// file gone (another process got there first): that is not an error.
    fn rotate(&self) {
        let _ = std::fs::remove_file(self.rotated(self.kept));
        for n in (1..self.kept).rev() {
            let _ = std::fs::rename(self.rotated(n), self.rotated(n + 1));
        }
        let _ = std::fs::rename(self.path(), self.rotated(1));
    }
}

#[cfg(unix)]
fn same_file(file: &File, disk: &std::fs::Metadata) -> bool {
    use std::os::unix::fs::MetadataExt;
    file.metadata()
        .is_ok_and(|m| m.ino() == disk.ino() && m.dev() == disk.dev())
}

/// Windows: a file open for writing cannot be renamed there, so one that is
/// open is still the one in place.
#[cfg(not(unix))]
fn same_file(_file: &File, _disk: &std::fs::Metadata) -> bool {
    true
}

impl<'a> MakeWriter<'a> for LogFile {
    type Writer = LogWriter<'a>;

    fn make_writer(&'a self) -> Self::Writer {
        // A panic while a line was written leaves the file as it was: the
        // next line may use it.
        let mut file = self.file.lock().unwrap_or_else(PoisonError::into_inner);
        self.current(&mut file);
        LogWriter(file)
    }
}

/// One log line's access to the file (or to nowhere, before `init`).
struct LogWriter<'a>(MutexGuard<'a, Option<File>>);

impl Write for LogWriter<'_> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        match self.0.as_mut() {
            Some(file) => file.write(buf),
            None => Ok(buf.len()),
        }
    }

    fn flush(&mut self) -> std::io::Result<()> {
        match self.0.as_mut() {
            Some(file) => file.flush(),
            None => Ok(()),
        }
    }
}

#[cfg(unix)]
fn restrict(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode));
}

/// Windows: the per-user profile folder already limits access.
#[cfg(not(unix))]
fn restrict(_path: &Path, _mode: u32) {}

#[cfg(test)]
mod tests {
    use super::*;

    /// One line, written whole as the formatter writes it.
    fn line(log: &LogFile, text: &str) {
        let mut w = log.make_writer();
        w.write_all(format!("{text}\n").as_bytes()).expect("write");
    }

    #[test]
    fn nothing_is_written_before_the_desk_exists() {
        let dir = tempfile::tempdir().expect("temp dir");
        let desk = dir.path().join("desk");
        let log = LogFile::new(desk.join("logs"), 1000, 2);
        line(&log, "before init");
        assert!(!desk.exists(), "no folder is made by accident");
        std::fs::create_dir(&desk).expect("init");
        line(&log, "after init");
        let text = std::fs::read_to_string(desk.join("logs/hirc.log")).expect("log");
        assert_eq!(text, "after init\n");
    }

    /// The app and the login service write the same file; each rotates
    /// when it finds it full, and neither trips over the other's renames
    /// (or a rotated file deleted by hand).
    #[test]
    fn two_writers_share_the_log_and_rotate_it_in_turn() {
        let dir = tempfile::tempdir().expect("temp dir");
        let logs = dir.path().join("logs");
        let app = LogFile::new(logs.clone(), 1000, 2);
        let service = LogFile::new(logs.clone(), 1000, 2);
        for i in 0..200 {
            let who = if i % 3 == 0 { &service } else { &app };
            line(who, &format!("{i:04} {}", "y".repeat(95)));
            if i == 120 {
                let _ = std::fs::remove_file(logs.join("hirc.log.1"));
            }
        }
        let names: Vec<String> = std::fs::read_dir(&logs)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        assert!(names.len() <= 3, "{names:?}");
        let current = std::fs::read_to_string(logs.join("hirc.log")).expect("log");
        assert!(current.contains("0199 "), "the last line is in hirc.log");
        for n in &names {
            let size = std::fs::metadata(logs.join(n)).expect("meta").len();
            assert!(size <= 1000 + 2 * 101, "{n}: {size} bytes");
        }
    }

    #[test]
    fn the_log_is_rotated_and_capped_and_stays_owner_only() {
        let dir = tempfile::tempdir().expect("temp dir");
        let logs = dir.path().join("logs");
        let log = LogFile::new(logs.clone(), 1000, 2);
        for i in 0..100 {
            line(&log, &format!("{i:04} {}", "x".repeat(95)));
        }
        let mut names: Vec<String> = std::fs::read_dir(&logs)
            .expect("list")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        assert_eq!(names, ["hirc.log", "hirc.log.1", "hirc.log.2"]);
        let total: u64 = names
            .iter()
            .map(|n| std::fs::metadata(logs.join(n)).expect("meta").len())
            .sum();
        assert!(total <= 3 * (1000 + 101), "{total} bytes kept");
        // The newest lines are kept, the oldest dropped.
        let kept: String = names
            .iter()
            .map(|n| std::fs::read_to_string(logs.join(n)).expect("log"))
            .collect();
        assert!(kept.contains("0099 ") && !kept.contains("0000 "));
        #[cfg(unix)]
        for n in &names {
            use std::os::unix::fs::PermissionsExt;
            let mode = std::fs::metadata(logs.join(n))
                .expect("meta")
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{n}");
        }
    }
}
