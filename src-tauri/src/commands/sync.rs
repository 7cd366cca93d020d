//! The hub: the worker's status, "Sync now", and enrolment.

use hirc_core::outbox::Enrolment;
use hirc_proto::recipients_fingerprint;
use hirc_proto::sign::key_fingerprint;
use hirc_sync::{HubClient, SyncStatus};
use serde::Serialize;
use tauri::State;

use crate::error::{CommandError, CommandResult};
use crate::state::AppState;

/// The worker's latest status (also pushed as `sync-status` events);
/// `null` before the desk is set up.
#[tauri::command]
#[specta::specta]
pub async fn sync_status(state: State<'_, AppState>) -> CommandResult<Option<SyncStatus>> {
    state.session().await?;
    state.sync_status().await
}

/// Tries every waiting upload now, ignoring backoff.
#[tauri::command]
#[specta::specta]
pub async fn sync_now(state: State<'_, AppState>) -> CommandResult<()> {
    state.sync_now().await
}

/// The hub this desk sends to.
#[derive(Debug, Serialize, specta::Type)]
pub struct HubInfo {
    /// The hub's name.
    pub hub_name: String,
    /// Its address.
    pub url: String,
    /// The partnership key's fingerprint, to check by phone.
    pub fingerprint: String,
    /// The hub's receipt key's fingerprint (once pinned).
    pub receipt_fingerprint: Option<String>,
    /// When the desk was enrolled.
    pub enrolled_at: String,
}

/// The hub, or `null` before enrolment.
#[tauri::command]
#[specta::specta]
pub async fn hub_info(state: State<'_, AppState>) -> CommandResult<Option<HubInfo>> {
    state
        .with_session(|desk, _| {
            Ok(desk.hub()?.map(|h| HubInfo {
                fingerprint: recipients_fingerprint(&h.recipients),
                receipt_fingerprint: h.receipt_key.as_deref().map(key_fingerprint),
                hub_name: h.hub_name,
                url: h.url,
                enrolled_at: hirc_core::time::to_text(h.enrolled_at),
            }))
        })
        .await
}

/// Enrolled: what to check, and how many waiting reports are now ready.
#[derive(Debug, Serialize, specta::Type)]
pub struct Enrolled {
    /// The hub and its key's fingerprint.
    pub hub: HubInfo,
    /// Waiting reports now encrypted for the hub.
    pub prepared: usize,
}

/// Enrols this desk with a hub using a one-time code (coordinators).
#[tauri::command]
#[specta::specta]
pub async fn enrol(
    state: State<'_, AppState>,
    url: String,
    code: String,
) -> CommandResult<Enrolled> {
    let (_, session) = state.session().await?;
    // Checked before the single-use code is spent at the hub.
    if session.user().role != hirc_core::model::Role::Coordinator {
        return Err(CommandError::new(
            "not_permitted",
            "enrolling the desk with a hub needs a coordinator",
        ));
    }
    let url = url.trim().trim_end_matches('/').to_string();
    let client = HubClient::new(&url, None)?;
    let here = url.clone();
    let (device_name, device_key, previous) = state
        .with_session(move |desk, s| {
            Ok((
                desk.info().centre_name.clone(),
                desk.device_key(s)?,
                desk.previous_device(&here),
            ))
        })
        .await?;
    let response = client
        .enrol(code.trim(), &device_name, &device_key, previous)
        .await?;
    let fingerprint = recipients_fingerprint(&response.recipients);
    let receipt_fingerprint = response.receipt_key.as_deref().map(key_fingerprint);
    let hub_url = url.clone();
    let (prepared, enrolled_at) = state
        .with_session(move |desk, s| {
            let prepared = desk.enrol(s, &Enrolment::from_response(&hub_url, &response), false)?;
            let at = desk
                .hub()?
                .map(|h| hirc_core::time::to_text(h.enrolled_at))
                .unwrap_or_default();
            Ok((prepared, (at, response.hub_name)))
        })
        .await?;
    let _ = state.sync_now().await;
    Ok(Enrolled {
        hub: HubInfo {
            hub_name: enrolled_at.1,
            url,
            fingerprint,
            receipt_fingerprint,
            enrolled_at: enrolled_at.0,
        },
        prepared,
    })
}
