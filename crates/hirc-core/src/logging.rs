//! Where a desk's log lines go, for the command line and the app alike:
//! `<data dir>/logs/hirc.log` (owner-only), and when asked (`--verbose`, or
//! `HIRC_LOG` set for the app) to standard error too. The engine logs ids,
//! sizes and events, never content; the canary tests scan this file to hold
//! it to that.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use tracing_subscriber::EnvFilter;
use tracing_subscriber::fmt::MakeWriter;
use tracing_subscriber::prelude::*;

/// Sets up logging for this process (once; later calls do nothing).
pub fn init(data_dir: &Path, verbose: bool) {
    let file_layer = tracing_subscriber::fmt::layer()
        .with_ansi(false)
        .with_target(false)
        .with_writer(LogFile(data_dir.join("logs")))
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

/// Appends to the log file, opening it per line: a desk writes a handful of
/// lines, and the desk's folder may not exist yet (before `init`), in which
/// case nothing is written rather than a folder made by accident.
struct LogFile(PathBuf);

impl<'a> MakeWriter<'a> for LogFile {
    type Writer = Box<dyn Write + 'a>;

    fn make_writer(&'a self) -> Self::Writer {
        let Some(desk_dir) = self.0.parent() else {
            return Box::new(std::io::sink());
        };
        if !desk_dir.is_dir() {
            return Box::new(std::io::sink());
        }
        if std::fs::create_dir_all(&self.0).is_err() {
            return Box::new(std::io::sink());
        }
        restrict(&self.0, 0o700);
        let path = self.0.join("hirc.log");
        match OpenOptions::new().create(true).append(true).open(&path) {
            Ok(file) => {
                restrict(&path, 0o600);
                Box::new(file)
            }
            Err(_) => Box::new(std::io::sink()),
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
