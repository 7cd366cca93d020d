//! Desk settings: the auto-lock times, retention and evidence limits.

use serde::{Deserialize, Serialize};
use tauri::State;

use crate::error::CommandResult;
use crate::state::AppState;

/// The settings a coordinator can change in the app.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, specta::Type)]
pub struct Settings {
    /// Minutes of idleness before the app locks (1–60).
    pub auto_lock_minutes: u32,
    /// Minutes of idleness before the app locks while a report is open
    /// (1–60; never less than `auto_lock_minutes`).
    pub interview_lock_minutes: u32,
    /// Days a delivered report's personal data stay on the desk.
    pub retention_days: u32,
    /// The largest file of evidence, in MiB.
    pub evidence_file_mib: u32,
    /// The most evidence on one report, in MiB.
    pub evidence_report_mib: u32,
}

/// The settings as the desk holds them now.
fn current(desk: &hirc_core::Desk) -> hirc_core::Result<Settings> {
    let limits = desk.evidence_limits()?;
    Ok(Settings {
        auto_lock_minutes: desk.auto_lock_minutes()?,
        interview_lock_minutes: desk.interview_lock_minutes()?,
        retention_days: desk.retention_days()?,
        evidence_file_mib: limits.file_mib,
        evidence_report_mib: limits.report_mib,
    })
}

/// The current settings.
#[tauri::command]
#[specta::specta]
pub async fn settings(state: State<'_, AppState>) -> CommandResult<Settings> {
    state.with_session(|desk, _| current(desk)).await
}

/// Changes what differs (coordinators; each change audited).
#[tauri::command]
#[specta::specta]
pub async fn set_settings(
    state: State<'_, AppState>,
    settings: Settings,
) -> CommandResult<Settings> {
    let saved = state
        .with_session(move |desk, s| {
            if desk.auto_lock_minutes()? != settings.auto_lock_minutes {
                desk.set_auto_lock_minutes(s, settings.auto_lock_minutes)?;
            }
            if desk.interview_lock_minutes()? != settings.interview_lock_minutes {
                desk.set_interview_lock_minutes(s, settings.interview_lock_minutes)?;
            }
            if desk.retention_days()? != settings.retention_days {
                desk.set_retention_days(s, settings.retention_days)?;
            }
            let limits = hirc_core::evidence::EvidenceLimits {
                file_mib: settings.evidence_file_mib,
                report_mib: settings.evidence_report_mib,
            };
            if desk.evidence_limits()? != limits {
                desk.set_evidence_limits(s, limits)?;
            }
            current(desk)
        })
        .await?;
    state.read_idle_limits().await;
    Ok(saved)
}
