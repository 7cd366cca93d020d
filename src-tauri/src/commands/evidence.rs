//! Evidence on a draft: the window's picker, drop and paste hand a file
//! over a piece at a time (base64; see `incoming`), the engine sniffs,
//! strips and stores it as it arrives; the list and its thumbnails are
//! read back.

use base64::Engine as _;
use hirc_core::evidence::Evidence;
use tauri::State;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::error::{CommandError, CommandResult};
use crate::incoming;
use crate::state::{AppState, lock_desk};

/// The largest side of a thumbnail, in pixels.
const THUMBNAIL_SIDE: u32 = 160;

/// The evidence on a report or a draft, oldest first.
#[tauri::command]
#[specta::specta]
pub async fn list_evidence(state: State<'_, AppState>, id: Uuid) -> CommandResult<Vec<Evidence>> {
    state
        .with_session(move |desk, s| desk.evidence(s, id))
        .await
}

/// Starts adding a file of `size` bytes to the draft `id` (audited once
/// whole), with the ambassador's `caption`: its pieces follow with
/// [`evidence_piece`], then [`finish_evidence`]. The desk reads them as one
/// stream, so the file is never held whole, here or in the window; its
/// name never reaches the desk. Returns the id the pieces go to.
#[tauri::command]
#[specta::specta]
pub async fn begin_evidence(
    state: State<'_, AppState>,
    id: Uuid,
    size: u64,
    caption: Option<String>,
) -> CommandResult<Uuid> {
    let (desk, session) = state.session().await?;
    let file = state.incoming.begin(size, move |file| {
        let mut desk = lock_desk(&desk)?;
        desk.add_evidence(&session, id, file, caption.as_deref())
            .map_err(incoming::explain)
    })?;
    // Locked meanwhile: the lock may have looked for files arriving before
    // this one began, so it is given up here (its keys with it).
    if state.session().await.is_err() {
        state.incoming.abandon(file).await;
        return Err(CommandError::locked());
    }
    Ok(file)
}

/// The piece of a file being added that begins `at` bytes into it
/// (`data`: at most 4 MiB, in base64); pieces come in order. A refusal (the
/// desk read enough to know it does not take the file) comes back here,
/// and the file is given up.
#[tauri::command]
#[specta::specta]
pub async fn evidence_piece(
    state: State<'_, AppState>,
    file: Uuid,
    at: u64,
    data: String,
) -> CommandResult<()> {
    let bytes = match base64::engine::general_purpose::STANDARD.decode(data.as_bytes()) {
        Ok(bytes) => Zeroizing::new(bytes),
        Err(_) => {
            state.incoming.abandon(file).await;
            return Err(incoming::not_whole(
                "the file did not arrive whole; add it again",
            ));
        }
    };
    drop(data);
    state.incoming.piece(file, at, bytes).await
}

/// Says every piece has been sent: the item, as the desk kept it, once it
/// is stored whole (or the reason it was not).
#[tauri::command]
#[specta::specta]
pub async fn finish_evidence(state: State<'_, AppState>, file: Uuid) -> CommandResult<Evidence> {
    state.incoming.finish(file).await
}

/// Gives a file being added up (the window could not read it, or the
/// person left the step): nothing of it is kept.
#[tauri::command]
#[specta::specta]
pub async fn abandon_evidence(state: State<'_, AppState>, file: Uuid) -> CommandResult<()> {
    state.incoming.abandon(file).await;
    Ok(())
}

/// Removes an item from its draft (audited).
#[tauri::command]
#[specta::specta]
pub async fn remove_evidence(state: State<'_, AppState>, evidence: Uuid) -> CommandResult<()> {
    state
        .with_session(move |desk, s| desk.remove_evidence(s, evidence))
        .await
}

/// A picture's thumbnail as a `data:image/png;base64,…` address, or `null`
/// for a document.
#[tauri::command]
#[specta::specta]
pub async fn evidence_thumbnail(
    state: State<'_, AppState>,
    evidence: Uuid,
) -> CommandResult<Option<String>> {
    let png = state
        .with_session(move |desk, s| desk.evidence_thumbnail(s, evidence, THUMBNAIL_SIDE))
        .await?;
    Ok(png.map(|png| {
        format!(
            "data:image/png;base64,{}",
            base64::engine::general_purpose::STANDARD.encode(png)
        )
    }))
}
