//! After a report is submitted: finding it by the reference a person brings
//! back, the slip they take away (saved where the ambassador chooses, to
//! print), and the centre's support services printed on it.

use hirc_core::desk::{ConsentChange, ReportPage};
use hirc_core::model::PassToPolice;
use hirc_core::support::{SupportService, SupportServices};
use serde::Deserialize;
use tauri::{AppHandle, Runtime, State};
use tauri_plugin_dialog::DialogExt;
use uuid::Uuid;

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

/// The reports with word from the partnership since this user last signed
/// in (Home lists them, so an ambassador can tell a person who comes back).
#[tauri::command]
#[specta::specta]
pub async fn news(state: State<'_, AppState>) -> CommandResult<Vec<hirc_core::word_back::News>> {
    state.with_session(|desk, s| desk.news(s)).await
}

/// Starts (or reopens) the follow-up of a report: a draft of its next
/// revision, whose id the form opens.
#[tauri::command]
#[specta::specta]
pub async fn follow_up(state: State<'_, AppState>, reference: String) -> CommandResult<Uuid> {
    state
        .with_session(move |desk, s| desk.follow_up(s, &reference, None))
        .await
}

/// Starts a new report by the person who made the one `reference` names,
/// about another incident: it names that report, and carries the person's
/// details over where this user may read them. Returns the draft's id.
#[tauri::command]
#[specta::specta]
pub async fn related_report(
    state: State<'_, AppState>,
    reference: String,
    language: Option<String>,
) -> CommandResult<Uuid> {
    state
        .with_session(move |desk, s| desk.related_report(s, &reference, language.as_deref()))
        .await
}

/// Erases a report at the person's request (coordinators; audited): the
/// desk deletes what it holds at once, the hub's copy goes with the next
/// sync.
#[tauri::command]
#[specta::specta]
pub async fn erase_report(
    state: State<'_, AppState>,
    reference: String,
) -> CommandResult<hirc_core::erasure::Erasure> {
    let erased = state
        .with_session(move |desk, s| desk.erase_report(s, &reference))
        .await?;
    // The hub's copy too, as soon as there is a connection.
    let _ = state.sync_now().await;
    Ok(erased)
}

/// Every report erased at this desk, newest first, with where the hub
/// stands (coordinators).
#[tauri::command]
#[specta::specta]
pub async fn list_erasures(
    state: State<'_, AppState>,
) -> CommandResult<Vec<hirc_core::erasure::Erasure>> {
    state.with_session(|desk, s| desk.erasures(s)).await
}

/// Has the hub erase its copy again (coordinators; audited): of the report
/// with `reference`, or of every erasure the desk sent. For a hub restored
/// from a backup older than the erasure.
#[tauri::command]
#[specta::specta]
pub async fn resend_erasures(
    state: State<'_, AppState>,
    reference: Option<String>,
) -> CommandResult<hirc_core::erasure::ResentErasures> {
    let again = state
        .with_session(move |desk, s| desk.resend_erasures(s, reference.as_deref()))
        .await?;
    let _ = state.sync_now().await;
    Ok(again)
}

/// A change to what the person agreed to; `null` keeps an answer.
#[derive(Debug, Clone, Copy, Deserialize, specta::Type)]
pub struct ConsentChangeArgs {
    /// Whether, and how, the report may go to the police.
    pub pass_to_police: Option<PassToPolice>,
    /// Whether the police may contact the person.
    pub police_may_contact: Option<bool>,
    /// Whether to refer them to support.
    pub refer_to_support: Option<bool>,
}

/// Changes what the person agreed to (a revision of the consent alone,
/// sealed and queued at once); returns the report's page as it now stands.
#[tauri::command]
#[specta::specta]
pub async fn change_consent(
    state: State<'_, AppState>,
    reference: String,
    change: ConsentChangeArgs,
) -> CommandResult<ReportPage> {
    let page = state
        .with_session(move |desk, s| {
            let sealed = desk.change_consent(
                s,
                &reference,
                ConsentChange {
                    pass_to_police: change.pass_to_police,
                    police_may_contact: change.police_may_contact,
                    refer_to_support: change.refer_to_support,
                },
            )?;
            desk.find_report(s, sealed.reference.as_str())
        })
        .await?;
    let _ = state.sync_now().await;
    Ok(page)
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
    let Some(path) = where_to_save(app, "Save the person's slip", name).await? else {
        return Ok(None);
    };
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

/// Where a copy for the person was saved, and how many files they gave
/// (saved apart, with [`save_access_files`]).
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
pub struct AccessCopySaved {
    /// The PDF's path.
    pub path: String,
    /// The files the copy lists (photos, screenshots, documents).
    pub files: u32,
}

/// Saves, where the coordinator chooses, a copy for the person of
/// everything the desk holds about their report (a subject access request;
/// coordinators; audited), in their language. `None`: the dialog was
/// closed, and nothing was written.
#[tauri::command]
#[specta::specta]
pub async fn save_access_copy<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    reference: String,
    language: String,
) -> CommandResult<Option<AccessCopySaved>> {
    let words = wording(&language)?;
    let copy = state
        .with_session(move |desk, s| desk.subject_access(s, &reference))
        .await?;
    let name = format!("copy-for-the-person-{}.pdf", copy.reference);
    let Some(path) = where_to_save(app, "Save a copy for the person", name).await? else {
        return Ok(None);
    };
    let reference = copy.reference.clone();
    let files = u32::try_from(copy.evidence.len()).unwrap_or(u32::MAX);
    let bytes = blocking(move || hirc_core::subject_access::to_pdf(&copy, &words)).await?;
    write_atomically(&path, &bytes)?;
    state
        .with_session(move |desk, s| {
            desk.record_export(
                s,
                &format!("copy for the person of {reference} ({language})"),
            )
        })
        .await?;
    Ok(Some(AccessCopySaved {
        path: path.display().to_string(),
        files,
    }))
}

/// Where the files the person gave were saved.
#[derive(Debug, Clone, serde::Serialize, specta::Type)]
pub struct AccessFilesSaved {
    /// The folder made for them.
    pub folder: String,
    /// How many were written.
    pub files: u32,
}

/// Saves the files the person gave with their report (photos, screenshots,
/// documents, as the desk keeps them; coordinators; audited) into a new
/// folder, `files-for-the-person-REFERENCE`, made owner-only in the folder
/// the coordinator chooses (a folder a file dialog makes is open to other
/// users, so the files never go straight into it). `None`: the dialog was
/// closed, and nothing was written. One file at a time, each under the
/// session as it is then: a lock stops the rest, and a failure removes
/// what this call wrote, the folder too, so that nothing is left half done.
#[tauri::command]
#[specta::specta]
pub async fn save_access_files<R: Runtime>(
    app: AppHandle<R>,
    state: State<'_, AppState>,
    reference: String,
) -> CommandResult<Option<AccessFilesSaved>> {
    // Counted, not opened: the opening is audited once, after the dialog.
    let quoted = reference.clone();
    let gave = state
        .with_session(move |desk, s| desk.files_the_person_gave(s, &quoted))
        .await?;
    if gave == 0 {
        return Ok(None);
    }
    let chosen = tauri::async_runtime::spawn_blocking(move || {
        app.dialog()
            .file()
            .set_title("Choose where to save the files the person gave")
            .set_can_create_directories(true)
            .blocking_pick_folder()
    })
    .await
    .map_err(|e| CommandError::internal(format!("the folder dialog failed: {e}")))?;
    let Some(chosen) = chosen else {
        return Ok(None);
    };
    let chosen = chosen
        .into_path()
        .map_err(|e| CommandError::internal(format!("that folder cannot be saved to: {e}")))?;
    // Read again: the desk may have locked, and someone else signed in,
    // while the dialog was open.
    let copy = state
        .with_session(move |desk, s| desk.subject_access(s, &reference))
        .await?;
    let folder = chosen.join(format!("files-for-the-person-{}", copy.reference));
    let paths = {
        let (copy, folder) = (copy.clone(), folder.clone());
        blocking(move || hirc_core::subject_access::new_folder_for_the_files(&copy, &folder))
            .await?
    };
    let undo = |written: &[std::path::PathBuf]| {
        for path in written {
            let _ = std::fs::remove_file(path);
        }
        let _ = std::fs::remove_dir(&folder);
    };
    // Audited before the first byte: a run killed part way is in the log.
    let (reference, count) = (copy.reference.clone(), paths.len());
    if let Err(e) = state
        .with_session(move |desk, s| desk.record_files_for_the_person(s, &reference, count))
        .await
    {
        undo(&[]);
        return Err(e);
    }
    for (n, (item, path)) in copy.evidence.iter().zip(&paths).enumerate() {
        let (item, to) = (item.clone(), path.clone());
        let wrote = state
            .with_session(move |desk, s| desk.write_file_for_the_person(s, &item, &to))
            .await;
        if let Err(e) = wrote {
            undo(&paths[..n]);
            let reference = copy.reference.clone();
            // Locked meanwhile, this is not recorded: the first entry stands.
            let _ = state
                .with_session(move |desk, s| desk.record_files_not_written(s, &reference))
                .await;
            return Err(e);
        }
    }
    Ok(Some(AccessFilesSaved {
        folder: folder.display().to_string(),
        files: u32::try_from(count).unwrap_or(u32::MAX),
    }))
}

/// Asks where to save a PDF (the native save dialog); `None` if closed.
async fn where_to_save<R: Runtime>(
    app: AppHandle<R>,
    title: &'static str,
    name: String,
) -> CommandResult<Option<std::path::PathBuf>> {
    let chosen = tauri::async_runtime::spawn_blocking(move || {
        app.dialog()
            .file()
            .set_title(title)
            .set_file_name(name)
            .add_filter("PDF", &["pdf"])
            .blocking_save_file()
    })
    .await
    .map_err(|e| CommandError::internal(format!("the save dialog failed: {e}")))?;
    chosen
        .map(|chosen| {
            chosen
                .into_path()
                .map_err(|e| CommandError::internal(format!("that place cannot be saved to: {e}")))
        })
        .transpose()
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
