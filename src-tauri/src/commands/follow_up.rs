//! After a report is submitted: finding it by the reference a person brings
//! back, the slip they take away (saved where the ambassador chooses, to
//! print), and the centre's support services printed on it.

use hirc_core::desk::ReportPage;
use hirc_core::support::{SupportService, SupportServices};
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_dialog::DialogExt;

use crate::commands::summary::wording;
use crate::error::{CommandError, CommandResult};
use crate::state::{AppState, blocking, with_desk};
use hirc_files::write_atomically;

/// Finds a submitted report by its reference as the person reads it out
/// (audited).
#[tauri::command]
#[specta::specta]
pub async fn find_report(
    state: State<'_, AppState>,
    reference: String,
) -> CommandResult<ReportPage> {
    state
        .with_session(move |desk, s| desk.find_report(s, &reference))
        .await
}

/// Asks where to save the person's slip (a PDF in `language`: `en`, `pl`
/// or `ur`), writes it there and audits it. Returns the path, or `null` if
/// the ambassador cancelled.
#[tauri::command]
#[specta::specta]
pub async fn save_slip<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    reference: String,
    language: String,
) -> CommandResult<Option<String>> {
    let words = wording(&language)?;
    let slip = state
        .with_session(move |desk, s| desk.slip(s, &reference))
        .await?;
    let name = format!("slip-{}.pdf", slip.reference);
    let chosen = tauri::async_runtime::spawn_blocking(move || {
        app.dialog()
            .file()
            .set_title("Save the person's slip")
            .set_file_name(name)
            .add_filter("PDF", &["pdf"])
            .blocking_save_file()
    })
    .await
    .map_err(|e| CommandError::internal(format!("the save dialog failed: {e}")))?;
    let Some(chosen) = chosen else {
        return Ok(None);
    };
    let path = chosen
        .into_path()
        .map_err(|e| CommandError::internal(format!("that place cannot be saved to: {e}")))?;
    let reference = slip.reference.clone();
    let bytes = blocking(move || hirc_core::slip::to_pdf(&slip, &words)).await?;
    write_atomically(&path, &bytes)?;
    state
        .with_session(move |desk, s| {
            desk.record_export(s, &format!("slip {reference} ({language})"))
        })
        .await?;
    Ok(Some(path.display().to_string()))
}

/// The centre's support services (shown locked or unlocked: they name no
/// one).
#[tauri::command]
#[specta::specta]
pub async fn support_services(state: State<'_, AppState>) -> CommandResult<SupportServices> {
    let desk = state.existing_desk().await?;
    with_desk(desk, |desk| desk.support_services()).await
}

/// Confirms the centre's list (coordinators; audited).
#[tauri::command]
#[specta::specta]
pub async fn set_support_services(
    state: State<'_, AppState>,
    services: Vec<SupportService>,
) -> CommandResult<SupportServices> {
    state
        .with_session(move |desk, s| desk.set_support_services(s, services))
        .await
}
