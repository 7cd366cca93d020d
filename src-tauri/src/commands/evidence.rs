//! Evidence on a draft: the window's picker, drop and paste hand a file's
//! bytes over (base64), the engine sniffs, strips and stores them; the list
//! and its thumbnails are read back.

use base64::Engine as _;
use hirc_core::evidence::Evidence;
use tauri::State;
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::error::{CommandError, CommandResult};
use crate::state::AppState;

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

/// Adds a file to the draft `id` (audited): `data` is its content in
/// base64, as the window read it; its name never reaches the desk.
#[tauri::command]
#[specta::specta]
pub async fn add_evidence(
    state: State<'_, AppState>,
    id: Uuid,
    data: String,
    caption: Option<String>,
) -> CommandResult<Evidence> {
    let bytes = Zeroizing::new(
        base64::engine::general_purpose::STANDARD
            .decode(data.as_bytes())
            .map_err(|_| {
                CommandError::new(
                    "invalid_input",
                    "the file did not arrive whole; add it again",
                )
            })?,
    );
    drop(data);
    state
        .with_session(move |desk, s| {
            desk.add_evidence(s, id, std::io::Cursor::new(&bytes[..]), caption.as_deref())
        })
        .await
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
