//! HIRC Desk's desktop shell: Tauri commands and events over the desk engine
//! (`hirc-core`) and the sync worker (`hirc-sync`). No SQL and no crypto
//! here; the UI (`ui/`) talks to Rust only through these commands.
//!
//! - [`state`]: the one managed state (store, session, worker).
//! - `commands`: one module per concern.
//! - [`events`]: the sync status pushed to the window.
//! - [`error`]: the `{kind, message}` error every command returns.
//! - `resume`: where each user was in the form.
//! - [`idle`]: the auto-lock, enforced here (the window only warns).
//! - [`incoming`]: files arriving from the window a piece at a time.
//! - `interface_language`: the language the app reopens in.
//! - `webview`: settings of the platform's web view and its toolkit (no
//!   recently-used list of the files its dialogs open or save).

pub mod commands;
pub mod error;
pub mod events;
pub mod idle;
pub mod incoming;
mod interface_language;
mod resume;
pub mod state;
mod webview;

use std::path::PathBuf;
use std::process::ExitCode;

use hirc_core::vault::KdfCost;
use tauri::Manager;

pub use state::AppState;

/// Overrides where the desk lives (shared with `hirc`).
pub const DATA_DIR_ENV: &str = "HIRC_DATA_DIR";
/// Tests only: a cheap scrypt cost for new passphrases (as in `hirc`).
pub const INSECURE_KDF_ENV: &str = "HIRC_INSECURE_KDF_LOG_N";
/// How often the watchdog looks at the idle clock: a desk locks at most this
/// long after its time.
const IDLE_CHECK: std::time::Duration = std::time::Duration::from_millis(500);

/// Set by `scripts/run`: a development desk with a local test hub.
pub const DEV_MODE_ENV: &str = "HIRC_DEV_MODE";

/// Adds the app's state and commands to a builder.
pub fn builder(builder: tauri::Builder<tauri::Wry>, state: AppState) -> tauri::Builder<tauri::Wry> {
    builder
        .manage(state)
        .invoke_handler(commands_builder().invoke_handler())
}

/// Every command the window may call: the one list the handler and the
/// UI's TypeScript bindings (`ui/src/lib/bindings.ts`) are made from. A
/// command added here and not to `commands/list.rs` (the permissions) fails
/// a test.
pub fn commands_builder() -> tauri_specta::Builder<tauri::Wry> {
    use commands::*;
    tauri_specta::Builder::<tauri::Wry>::new()
        // Errors reject the promise with the `{kind, message}` of
        // error::CommandError, as a plain `invoke` does.
        .error_handling(tauri_specta::ErrorHandlingMode::Throw)
        // Counts, sizes, revisions and seconds: all far below 2^53, where a
        // JavaScript number stops being exact.
        .dangerously_cast_bigints_to_number()
        // One type per Rust type: what the window receives and sends.
        .disable_serde_phases()
        .commands(tauri_specta::collect_commands![
            desk::desk_state,
            desk::set_up_desk::<tauri::Wry>,
            desk::unlock::<tauri::Wry>,
            desk::lock,
            desk::still_here,
            desk::set_interface_language,
            desk::set_window_title::<tauri::Wry>,
            desk::vocabulary,
            reports::list_reports,
            reports::new_draft,
            reports::open_report,
            reports::save_draft,
            reports::check_report,
            reports::submit_report,
            reports::delete_draft,
            reports::remember_place,
            reports::set_aside_reports,
            reports::retry_set_aside,
            reports::discard_set_aside,
            sync::sync_status,
            sync::sync_now,
            sync::hub_info,
            sync::enrol,
            users::list_users,
            users::add_user,
            users::remove_user,
            users::reset_passphrase,
            users::change_own_passphrase,
            settings::settings,
            settings::set_settings,
            summary::summary,
            summary::export_summary::<tauri::Wry>,
            follow_up::find_report,
            follow_up::news,
            follow_up::follow_up,
            follow_up::related_report,
            follow_up::erase_report,
            follow_up::list_erasures,
            follow_up::resend_erasures,
            follow_up::change_consent,
            follow_up::save_slip::<tauri::Wry>,
            follow_up::save_access_copy::<tauri::Wry>,
            follow_up::save_access_files::<tauri::Wry>,
            follow_up::support_services,
            follow_up::set_support_services,
            evidence::list_evidence,
            evidence::begin_evidence,
            evidence::evidence_piece,
            evidence::finish_evidence,
            evidence::abandon_evidence,
            evidence::remove_evidence,
            evidence::evidence_thumbnail,
        ])
}

/// The UI's TypeScript bindings, as the commands and their types make them.
pub fn typescript_bindings() -> Result<String, String> {
    let dir = tempfile_dir()?;
    let path = dir.join("bindings.ts");
    commands_builder()
        .export(
            specta_typescript::Typescript::default()
                .header("// Generated from the Rust commands (src-tauri/src/lib.rs, commands_builder):\n// do not edit. `HIRC_UPDATE_BINDINGS=1 cargo test -p hirc-desk bindings` rewrites it.\n"),
            &path,
        )
        .map_err(|e| format!("the bindings could not be made: {e}"))?;
    let text = std::fs::read_to_string(&path).map_err(|e| e.to_string());
    let _ = std::fs::remove_dir_all(&dir);
    text
}

/// A fresh private folder for the exporter, which writes to a path.
fn tempfile_dir() -> Result<PathBuf, String> {
    let dir = std::env::temp_dir().join(format!(
        "hirc-bindings-{}-{}",
        std::process::id(),
        uuid::Uuid::now_v7()
    ));
    hirc_files::private_dir(&dir).map_err(|e| e.to_string())?;
    Ok(dir)
}

/// The desk's data directory: `HIRC_DATA_DIR`, else the platform's per-user
/// data directory (the same rule as `hirc`).
pub fn data_dir() -> Result<PathBuf, String> {
    match std::env::var_os(DATA_DIR_ENV) {
        Some(dir) if !dir.is_empty() => Ok(PathBuf::from(dir)),
        _ => hirc_core::paths::default_data_dir()
            .ok_or_else(|| format!("no per-user data directory is known here; set {DATA_DIR_ENV}")),
    }
}

fn kdf() -> Result<KdfCost, String> {
    match std::env::var(INSECURE_KDF_ENV) {
        Ok(v) => {
            let log_n: u8 = v
                .parse()
                .map_err(|_| format!("{INSECURE_KDF_ENV} must be a number"))?;
            eprintln!(
                "warning: {INSECURE_KDF_ENV} is set: passphrases set now are cheap to guess. For tests only."
            );
            KdfCost::fixed(log_n).map_err(|e| e.to_string())
        }
        Err(_) => Ok(KdfCost::calibrated()),
    }
}

/// Runs the app until its window closes.
pub fn run() -> ExitCode {
    let (dir, kdf) = match data_dir().and_then(|d| Ok((d, kdf()?))) {
        Ok(v) => v,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    hirc_core::logging::init(&dir, std::env::var_os("HIRC_LOG").is_some());
    let dev_mode = std::env::var(DEV_MODE_ENV).is_ok_and(|v| v == "1");
    let app = builder(tauri::Builder::default(), AppState::new(dir, kdf, dev_mode))
        // A second launch brings the open window forward instead of opening
        // the store twice.
        .plugin(tauri_plugin_single_instance::init(|app, _, _| {
            if let Some(w) = app.get_webview_window("main") {
                let _ = w.unminimize();
                let _ = w.set_focus();
            }
        }))
        .plugin(tauri_plugin_dialog::init())
        // The page loaded again (a reload, a crash of the web view): a file
        // it was handing over will never be finished, so it is given up now
        // rather than holding the store until its silence runs out.
        .on_page_load(|webview, payload| {
            if payload.event() == tauri::webview::PageLoadEvent::Started {
                let handle = webview.app_handle().clone();
                tauri::async_runtime::spawn(async move {
                    handle.state::<AppState>().incoming.abandon_all().await;
                });
            }
        })
        .setup(|app| {
            webview::trim_caches(app);
            webview::forget_recent_files();
            // Uploads start with the app, before anyone unlocks, and go on
            // while it is locked.
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                let state = handle.state::<AppState>();
                match state.desk().await {
                    Ok(Some(_)) => state.start_sync(&handle).await,
                    Ok(None) => {}
                    Err(e) => tracing::warn!("the desk could not be opened for uploads: {e}"),
                }
            });
            // The auto-lock's watchdog: the session ends when the desk has
            // rested past its time, whatever the window does.
            let handle = app.handle().clone();
            tauri::async_runtime::spawn(async move {
                loop {
                    tokio::time::sleep(IDLE_CHECK).await;
                    if handle.state::<AppState>().lock_if_idle().await {
                        events::desk_locked(&handle);
                    }
                }
            });
            Ok(())
        })
        .build(tauri::generate_context!());
    let app = match app {
        Ok(app) => app,
        Err(e) => {
            eprintln!("error: the window could not be opened: {e}");
            return ExitCode::FAILURE;
        }
    };
    app.run(|handle, event| {
        if let tauri::RunEvent::Exit = event {
            // Drop the keys and stop the worker before the process ends.
            let state = handle.state::<AppState>();
            tauri::async_runtime::block_on(async {
                state.end().await;
                state.stop_sync().await;
            });
        }
    });
    ExitCode::SUCCESS
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeSet;

    /// The window opens whole on a 1024×768 screen (a desk's old laptop),
    /// with room for the title bar and a panel.
    #[test]
    fn the_window_fits_a_1024_by_768_screen() {
        let conf: serde_json::Value =
            serde_json::from_str(include_str!("../tauri.conf.json")).expect("json");
        let window = &conf["app"]["windows"][0];
        let (w, h) = (
            window["width"].as_f64().expect("width"),
            window["height"].as_f64().expect("height"),
        );
        assert!(w <= 1024.0 && h <= 700.0, "the window is {w}x{h}");
    }

    /// The window's capability grants exactly the app's commands (and event
    /// listening): nothing more, and none missing.
    #[test]
    fn the_capability_grants_exactly_the_apps_commands() {
        let file: serde_json::Value =
            serde_json::from_str(include_str!("../capabilities/default.json")).expect("json");
        let granted: BTreeSet<String> = file["permissions"]
            .as_array()
            .expect("permissions")
            .iter()
            .filter_map(|p| p.as_str())
            .filter(|p| !p.starts_with("core:event:"))
            .map(str::to_string)
            .collect();
        let commands: BTreeSet<String> = crate::commands::list::ALL
            .iter()
            .map(|c| format!("allow-{}", c.replace('_', "-")))
            .collect();
        assert_eq!(granted, commands);
        let events: Vec<&str> = file["permissions"]
            .as_array()
            .expect("permissions")
            .iter()
            .filter_map(|p| p.as_str())
            .filter(|p| p.starts_with("core:"))
            .collect();
        assert_eq!(
            events,
            ["core:event:allow-listen", "core:event:allow-unlisten"]
        );
    }

    /// The UI checks a new passphrase's length before the slow key
    /// derivation, and says the number in its hints: the engine's minimum.
    #[test]
    fn the_ui_asks_for_the_engines_passphrase_length() {
        let ui = include_str!("../../ui/src/lib/passphrase.ts");
        let expected = format!(
            "export const MIN_PASSPHRASE_CHARS = {};",
            hirc_core::vault::MIN_PASSPHRASE_CHARS
        );
        assert!(
            ui.contains(&expected),
            "ui/src/lib/passphrase.ts must say: {expected}"
        );
    }

    /// The Summaries screen translates the engine's summary by its keys
    /// (ui/src/lib/summaryText.ts): a table by `summaries.table.KEY`, a
    /// row by `vocab.LIST.KEY` or `summaries.row.KEY`, a month by the
    /// browser's own month names. A key without words would stay English
    /// on a Polish or Urdu screen without any error, so every key the
    /// engine can write must have words in every language.
    #[test]
    fn every_summary_key_the_engine_writes_is_translated() {
        use hirc_core::summary::{SummaryOptions, summarise};

        let languages: Vec<(&str, serde_json::Value)> = [
            ("en", include_str!("../../ui/src/i18n/en.json")),
            ("pl", include_str!("../../ui/src/i18n/pl.json")),
            ("ur", include_str!("../../ui/src/i18n/ur.json")),
        ]
        .into_iter()
        .map(|(l, text)| (l, serde_json::from_str(text).expect("valid JSON")))
        .collect();
        // The vocabulary's words are checked in every language by
        // every_vocabulary_value_is_translated; here it is enough that the
        // key is one of them.
        let vocabulary = crate::commands::desk::vocabulary();
        let translated = |key: &str| {
            for (lang, strings) in &languages {
                assert!(
                    strings[key].as_str().is_some_and(|s| !s.is_empty()),
                    "ui/src/i18n/{lang}.json has no {key}"
                );
            }
        };

        let day = |y, m, d| chrono::NaiveDate::from_ymd_opt(y, m, d).expect("date");
        let summary = summarise(
            "Centre",
            "C01",
            &[],
            SummaryOptions {
                from: day(2026, 1, 1),
                to: day(2026, 12, 31),
                threshold: 5,
            },
        );
        for table in &summary.tables {
            translated(&format!("summaries.table.{}", table.key));
            for row in table.rows.iter().chain([&table.total]) {
                let key = row.key.as_str();
                let a_month = table.key == "months"
                    && chrono::NaiveDate::parse_from_str(&format!("{key}-01"), "%Y-%m-%d").is_ok();
                let in_vocabulary = table
                    .vocabulary
                    .is_some_and(|list| vocabulary[list].iter().any(|c| c.value == key));
                if !a_month && !in_vocabulary {
                    translated(&format!("summaries.row.{key}"));
                }
            }
        }
    }

    /// ui/src/lib/bindings.ts is what the commands make now: a command or a
    /// type changed in Rust and not regenerated fails here (CI runs this).
    /// `HIRC_UPDATE_BINDINGS=1 cargo test -p hirc-desk bindings` rewrites it.
    #[test]
    fn the_ui_bindings_are_current() {
        let made = crate::typescript_bindings().expect("bindings");
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../ui/src/lib/bindings.ts");
        if std::env::var_os("HIRC_UPDATE_BINDINGS").is_some() {
            std::fs::write(path, &made).expect("write the bindings");
        }
        let current = std::fs::read_to_string(path).unwrap_or_default();
        assert!(
            current == made,
            "ui/src/lib/bindings.ts is stale: run HIRC_UPDATE_BINDINGS=1 cargo test -p hirc-desk bindings"
        );
    }

    /// Every command the handler knows has a permission (commands/list.rs,
    /// which build.rs reads): one left out could never be called.
    #[test]
    fn every_handled_command_has_a_permission() {
        let made = crate::typescript_bindings().expect("bindings");
        let handled: BTreeSet<&str> = made
            .split("__TAURI_INVOKE<")
            .skip(1)
            .filter_map(|rest| rest.split_once("(\"")?.1.split('"').next())
            .collect();
        let listed: BTreeSet<&str> = crate::commands::list::ALL.iter().copied().collect();
        assert_eq!(handled.len(), 52, "{handled:?}");
        assert_eq!(handled, listed);
    }

    /// The UI's browser tests run against an in-memory desk that serves the
    /// vocabulary from a fixture; this keeps the fixture the engine's own.
    /// `HIRC_UPDATE_FIXTURES=1 cargo test -p hirc-desk` rewrites it.
    #[test]
    fn the_browser_tests_use_the_engines_vocabulary() {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../ui/tests/browser/fixtures/vocabulary.json");
        let current = serde_json::to_string_pretty(&crate::commands::desk::vocabulary())
            .expect("json")
            + "\n";
        if std::env::var_os("HIRC_UPDATE_FIXTURES").is_some() {
            std::fs::write(&path, &current).expect("write the fixture");
        }
        let fixture = std::fs::read_to_string(&path).unwrap_or_default();
        assert!(
            fixture == current,
            "{} is not the engine's vocabulary: run HIRC_UPDATE_FIXTURES=1 cargo test -p hirc-desk",
            path.display()
        );
    }

    /// Every closed-list value the form shows has a label in each UI
    /// language besides English (English labels come from the engine).
    #[test]
    fn every_vocabulary_value_is_translated() {
        let tables = [
            ("pl", include_str!("../../ui/src/i18n/pl.json")),
            ("ur", include_str!("../../ui/src/i18n/ur.json")),
        ];
        for (lang, text) in tables {
            let table: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(text).expect("json");
            let missing: Vec<String> = crate::commands::desk::vocabulary()
                .into_iter()
                .flat_map(|(list, choices)| {
                    choices
                        .into_iter()
                        .map(move |c| format!("vocab.{list}.{}", c.value))
                })
                .filter(|key| !table.contains_key(key))
                .collect();
            assert!(missing.is_empty(), "{lang} lacks {missing:?}");
        }
    }
}
