//! Where a desk lives on this computer.
//!
//! The command line and the desktop app both call [`default_data_dir`], so
//! they work on the same desk; `HIRC_DATA_DIR` (read by the front ends)
//! overrides it.

use std::path::PathBuf;

/// The folder name under the platform's per-user data directory.
pub const APP_DIR_NAME: &str = "hirc-desk";

/// The platform's per-user data directory for HIRC Desk:
/// `~/.local/share/hirc-desk` on Linux, `%APPDATA%\hirc-desk` on Windows,
/// `~/Library/Application Support/hirc-desk` on macOS.
pub fn default_data_dir() -> Option<PathBuf> {
    dirs::data_dir().map(|d| d.join(APP_DIR_NAME))
}
