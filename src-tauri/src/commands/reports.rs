//! Reports: the list, drafts autosaved on every change, per-step checks,
//! submit, and the place in the form to come back to.

use hirc_core::ReportListing;
use hirc_core::model::{Report, ReportState, check_complete};
use serde::Serialize;
use tauri::State;
use uuid::Uuid;

use crate::error::{CommandResult, FieldProblem};
use crate::resume::{self, Place};
use crate::state::AppState;

/// The reports this user may see, newest first, with counts for Home.
#[derive(Debug, Serialize, specta::Type)]
pub struct ReportList {
    /// The reports.
    pub reports: Vec<ReportListing>,
    /// Drafts in the list.
    pub drafts: usize,
    /// Submitted, waiting to upload.
    pub waiting: usize,
    /// Delivered (or delivered and purged).
    pub delivered: usize,
    /// Where this user was in the form, if a draft is open.
    pub resume: Option<Place>,
}

/// Reports set aside because they would not open (coordinators).
#[tauri::command]
#[specta::specta]
pub async fn set_aside_reports(
    state: State<'_, AppState>,
) -> CommandResult<Vec<hirc_core::set_aside::SetAside>> {
    state
        .with_session(|desk, s| desk.set_aside_reports(s))
        .await
}

/// Opens a set-aside report again (coordinators).
#[tauri::command]
#[specta::specta]
pub async fn retry_set_aside(state: State<'_, AppState>, id: Uuid) -> CommandResult<()> {
    state
        .with_session(move |desk, s| desk.retry_set_aside(s, id))
        .await
}

/// Deletes a set-aside report for good (coordinators; audited).
#[tauri::command]
#[specta::specta]
pub async fn discard_set_aside(state: State<'_, AppState>, id: Uuid) -> CommandResult<()> {
    state
        .with_session(move |desk, s| desk.discard_set_aside(s, id))
        .await
}

/// Lists reports.
#[tauri::command]
#[specta::specta]
pub async fn list_reports(state: State<'_, AppState>) -> CommandResult<ReportList> {
    let dir = state.data_dir.clone();
    state
        .with_session(move |desk, s| {
            let reports = desk.list_reports(s)?;
            let count =
                |f: &dyn Fn(ReportState) -> bool| reports.iter().filter(|r| f(r.row.state)).count();
            let drafts = count(&|s| s == ReportState::Draft);
            let waiting = count(&|s| s == ReportState::Sealed);
            let delivered = count(&|s| matches!(s, ReportState::Delivered | ReportState::Purged));
            // A place whose draft is gone (submitted, deleted) is stale.
            let resume = resume::get(&dir, s.user().id).filter(|p| {
                reports
                    .iter()
                    .any(|r| r.row.id == p.report_id && r.row.state == ReportState::Draft)
            });
            Ok(ReportList {
                reports,
                drafts,
                waiting,
                delivered,
                resume,
            })
        })
        .await
}

/// Starts an empty draft (the form's first autosave) and returns its id.
#[tauri::command]
#[specta::specta]
pub async fn new_draft(
    state: State<'_, AppState>,
    report: serde_json::Value,
) -> CommandResult<Uuid> {
    let report = parse(report)?;
    state
        .with_session(move |desk, s| desk.create_draft(s, &report))
        .await
}

/// A report opened for the form or for reading.
#[derive(Debug, Serialize, specta::Type)]
pub struct OpenedReport {
    /// Its id.
    pub id: Uuid,
    /// Its state.
    pub state: ReportState,
    /// The human reference, once submitted.
    pub reference: Option<String>,
    /// The content (`null` once purged).
    pub report: Option<Report>,
    /// When it was last saved.
    pub updated_at: String,
    /// For a follow-up draft: the reference of the report it adds to.
    pub follows: Option<String>,
}

/// Opens a report.
#[tauri::command]
#[specta::specta]
pub async fn open_report(state: State<'_, AppState>, id: Uuid) -> CommandResult<OpenedReport> {
    state
        .with_session(move |desk, s| {
            let view = desk.report(s, id)?;
            Ok(OpenedReport {
                id,
                state: view.row.state,
                reference: view.row.reference.clone(),
                report: view.report,
                updated_at: hirc_core::time::to_text(view.row.updated_at),
                follows: desk.follow_up_of(s, id)?,
            })
        })
        .await
}

/// Autosaves a draft's whole form; returns when it was saved.
#[tauri::command]
#[specta::specta]
pub async fn save_draft(
    state: State<'_, AppState>,
    id: Uuid,
    report: serde_json::Value,
) -> CommandResult<String> {
    let report = parse(report)?;
    state
        .with_session(move |desk, s| {
            desk.save_draft(s, id, &report)?;
            Ok(chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true))
        })
        .await
}

/// Every problem that would stop this report being submitted, in form
/// order (the UI shows those of the current step). With the draft's `id`, a
/// follow-up is judged by a follow-up's rules (a note of what changed; the
/// whole report only where the desk holds it whole).
#[tauri::command]
#[specta::specta]
pub async fn check_report(
    state: State<'_, AppState>,
    report: serde_json::Value,
    id: Option<Uuid>,
) -> CommandResult<Vec<FieldProblem>> {
    let report = parse(report)?;
    if let Some(id) = id {
        return state
            .with_session(move |desk, s| desk.submit_problems(s, id, &report))
            .await;
    }
    // The same "today" as submitting uses, so the check page and Submit
    // never disagree about a date near midnight.
    let today = hirc_core::time::Clock::system().today();
    Ok(match check_complete(&report, today) {
        Ok(()) => Vec::new(),
        Err(errors) => errors.0,
    })
}

/// What the person takes away.
#[derive(Debug, Serialize, specta::Type)]
pub struct Submitted {
    /// The human reference, e.g. `CP-7K3M-QA`.
    pub reference: String,
}

/// Submits a draft: validated, sealed, encrypted for the hub, queued; the
/// worker is woken at once.
#[tauri::command]
#[specta::specta]
pub async fn submit_report(state: State<'_, AppState>, id: Uuid) -> CommandResult<Submitted> {
    let dir = state.data_dir.clone();
    let reference = state
        .with_session(move |desk, s| {
            let reference = desk.submit(s, id)?;
            if resume::get(&dir, s.user().id).is_some_and(|p| p.report_id == id) {
                let _ = resume::set(&dir, s.user().id, None);
            }
            Ok(reference.to_string())
        })
        .await?;
    // Not enrolled or locked meanwhile: the report waits safely either way.
    let _ = state.sync_now().await;
    Ok(Submitted { reference })
}

/// Deletes a draft (audited).
#[tauri::command]
#[specta::specta]
pub async fn delete_draft(state: State<'_, AppState>, id: Uuid) -> CommandResult<()> {
    state
        .with_session(move |desk, s| desk.delete_draft(s, id))
        .await
}

/// Remembers where this user is in the form (`null`: back at home).
#[tauri::command]
#[specta::specta]
pub async fn remember_place(state: State<'_, AppState>, place: Option<Place>) -> CommandResult<()> {
    let (_, session) = state.session().await?;
    resume::set(&state.data_dir, session.user().id, place)?;
    Ok(())
}

/// Reads the form's JSON with the engine's reader, whose errors name the
/// field but never echo a value.
fn parse(report: serde_json::Value) -> CommandResult<Report> {
    Ok(Report::from_value(report)?.0)
}
