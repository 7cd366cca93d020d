//! HIRC Desk, the desktop app.

// No console window on Windows release builds (the app has its own window).
#![cfg_attr(not(debug_assertions), windows_subsystem = "windows")]

fn main() -> std::process::ExitCode {
    hirc_desk::run()
}
