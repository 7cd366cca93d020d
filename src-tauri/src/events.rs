//! Events pushed to the window. Names are constants the UI mirrors in
//! `ui/src/lib/api.ts`.

use hirc_sync::SyncStatus;
use tauri::{AppHandle, Emitter, Runtime};

/// The sync worker's status changed: payload [`SyncStatus`].
pub const SYNC_STATUS: &str = "sync-status";

/// Tells the window the worker's new status. A window that is gone cannot
/// be told anything, so a failure is only logged.
pub fn sync_status<R: Runtime>(app: &AppHandle<R>, status: &SyncStatus) {
    if let Err(e) = app.emit(SYNC_STATUS, status) {
        tracing::warn!("could not send the sync status to the window: {e}");
    }
}

/// The desk locked itself after resting past its auto-lock time: no payload.
pub const DESK_LOCKED: &str = "desk-locked";

/// Tells the window the desk has locked itself.
pub fn desk_locked<R: Runtime>(app: &AppHandle<R>) {
    if let Err(e) = app.emit(DESK_LOCKED, ()) {
        tracing::warn!("could not tell the window the desk locked: {e}");
    }
}
