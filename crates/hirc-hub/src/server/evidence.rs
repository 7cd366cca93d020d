//! Evidence: photos, screenshots and documents, uploaded as age files the
//! hub cannot read, in chunks, before the revision that names them. The
//! desk asks how much of an item is held (`GET`) and sends the rest
//! (`PUT` with `Upload-Offset`), so a cut connection costs only the chunk
//! in flight. An item is complete once its every byte is held and its
//! digest checks; a revision naming it is stored, and its receipt issued,
//! only then (`routes::upload`).

use axum::Json;
use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use chrono::Utc;
use hirc_proto::{
    DIGEST_HEADER, EVIDENCE_DIGEST_HEADER, ErrorKind, EvidenceItem, EvidenceState,
    UPLOAD_LENGTH_HEADER, UPLOAD_OFFSET_HEADER, parse_content_digest,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{ApiError, AppState, AuthDevice};
use crate::store::{ChunkPut, EvidenceChunk, HeldEvidence, held_sha256};

/// The most places one desk holds at once: a stolen token (or a desk gone
/// wrong) sending slowly cannot take every place from the other desks. Room
/// for two sync processes at once (the app's and `hirc sync`), each with 4
/// uploads in flight.
const PLACES_PER_DESK: usize = 8;

/// How long a request waits for a place before it is told to come back.
const PLACE_WAIT: std::time::Duration = std::time::Duration::from_secs(5);

/// Places for chunks being read and stored, and for whole items being
/// checked: a few at once (each chunk is held whole until stored), and a
/// few per desk.
pub(super) struct EvidencePlaces {
    all: tokio::sync::Semaphore,
    desks: std::sync::Mutex<std::collections::HashMap<Uuid, usize>>,
}

/// One desk's count of places, given back when dropped.
struct DeskShare<'a> {
    desks: &'a std::sync::Mutex<std::collections::HashMap<Uuid, usize>>,
    device: Uuid,
}

impl Drop for DeskShare<'_> {
    fn drop(&mut self) {
        let mut desks = self.desks.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(n) = desks.get_mut(&self.device) {
            *n -= 1;
            if *n == 0 {
                desks.remove(&self.device);
            }
        }
    }
}

/// A place, held while a chunk is read and stored or an item checked.
pub(super) struct Place<'a> {
    _all: tokio::sync::SemaphorePermit<'a>,
    _desk: DeskShare<'a>,
}

impl EvidencePlaces {
    pub(super) fn new(at_once: usize) -> Self {
        Self {
            all: tokio::sync::Semaphore::new(at_once),
            desks: Default::default(),
        }
    }

    /// A place for `device`, after a short wait at most; otherwise the
    /// desk is told to come back in a moment.
    pub(super) async fn take(&self, device: Uuid) -> Result<Place<'_>, ApiError> {
        let busy = || {
            ApiError::new(
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorKind::Unavailable,
                "the hub is taking as much evidence as it can at once; the rest goes in a moment",
            )
            .retry_after(5)
        };
        let desk = {
            let mut desks = self.desks.lock().unwrap_or_else(|e| e.into_inner());
            let n = desks.entry(device).or_default();
            if *n >= PLACES_PER_DESK {
                return Err(busy());
            }
            *n += 1;
            DeskShare {
                desks: &self.desks,
                device,
            }
        };
        let all = tokio::time::timeout(PLACE_WAIT, self.all.acquire())
            .await
            .map_err(|_| busy())?
            .map_err(|_| busy())?;
        Ok(Place {
            _all: all,
            _desk: desk,
        })
    }
}

fn state_of(held: Option<&HeldEvidence>) -> EvidenceState {
    held.map_or(
        EvidenceState {
            received: 0,
            length: 0,
            complete: false,
        },
        |h| EvidenceState {
            received: h.received,
            length: h.length,
            complete: h.complete,
        },
    )
}

fn bad(message: impl Into<String>) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, ErrorKind::BadRequest, message)
}

/// `GET /v1/reports/{report_id}/evidence/{evidence_id}`: how much is held
/// (never the bytes).
pub(super) async fn held(
    State(state): State<AppState>,
    AuthDevice(device): AuthDevice,
    Path((report_id, evidence_id)): Path<(Uuid, Uuid)>,
) -> Result<Json<EvidenceState>, ApiError> {
    state.check_rate(device.id).await?;
    let held = state
        .stored(state.store.evidence_held(device.id, evidence_id))
        .await?
        // Another report's item of the same id is not this one.
        .filter(|h| h.report_id == report_id);
    // Every byte held, but not settled (the hub stopped between the last
    // chunk and its check): settled now, so the desk is not stuck.
    if held
        .as_ref()
        .is_some_and(|h| !h.complete && h.received == h.length)
    {
        // Read whole: in a place, as a chunk is, so that many asking at
        // once cannot start as many reads of a large item.
        let _place = state.evidence_places.take(device.id).await?;
        // Settled by another request while this one waited: nothing to do.
        let again = state
            .stored(state.store.evidence_held(device.id, evidence_id))
            .await?
            .filter(|h| h.report_id == report_id);
        let Some(h) = again
            .as_ref()
            .filter(|h| !h.complete && h.received == h.length)
        else {
            return Ok(Json(state_of(again.as_ref())));
        };
        let whole = Some(
            state
                .stored(held_sha256(state.store.as_ref(), device.id, evidence_id))
                .await?,
        ) == parse_content_digest(&h.digest);
        state
            .stored(state.store.settle_evidence(device.id, evidence_id, whole))
            .await?;
        let held = state
            .stored(state.store.evidence_held(device.id, evidence_id))
            .await?
            .filter(|h| h.report_id == report_id);
        return Ok(Json(state_of(held.as_ref())));
    }
    Ok(Json(state_of(held.as_ref())))
}

/// `PUT /v1/reports/{report_id}/evidence/{evidence_id}`: one chunk.
pub(super) async fn put_chunk(
    State(state): State<AppState>,
    AuthDevice(device): AuthDevice,
    Path((report_id, evidence_id)): Path<(Uuid, Uuid)>,
    headers: HeaderMap,
    body: Body,
) -> Result<Json<EvidenceState>, ApiError> {
    state.check_rate(device.id).await?;
    let too_large = || {
        ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::TooLarge,
            format!(
                "a chunk of evidence is at most {} bytes",
                hirc_proto::MAX_EVIDENCE_CHUNK
            ),
        )
    };
    let announced = headers
        .get(axum::http::header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    if announced.is_some_and(|n| n > hirc_proto::MAX_EVIDENCE_CHUNK as u64) {
        return Err(too_large());
    }
    let number = |name: &str| -> Result<u64, ApiError> {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse().ok())
            .ok_or_else(|| bad(format!("an {name} header (a number of bytes) is required")))
    };
    let offset = number(UPLOAD_OFFSET_HEADER)?;
    let length = number(UPLOAD_LENGTH_HEADER)?;
    let digest = headers
        .get(EVIDENCE_DIGEST_HEADER)
        .and_then(|v| v.to_str().ok())
        .filter(|v| parse_content_digest(v).is_some())
        .ok_or_else(|| {
            bad("a hirc-evidence-digest header (sha-256 of the whole item) is required")
        })?
        .trim()
        .to_string();
    let claimed = headers
        .get(DIGEST_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(parse_content_digest)
        .ok_or_else(|| bad("a Content-Digest header (sha-256 of this chunk) is required"))?;
    if length > state.config.max_evidence_bytes {
        return Err(ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            ErrorKind::TooLarge,
            format!(
                "an item of evidence is at most {} MiB on this hub",
                state.config.max_evidence_bytes / (1024 * 1024)
            ),
        ));
    }
    // Read only for a known desk within its rate, once the headers hold,
    // a few at a time (the hub's memory holds at most that many chunks),
    // a few per desk, after a short wait at most: a few slow senders
    // cannot hold every other desk's evidence back.
    let _place = state.evidence_places.take(device.id).await?;
    // Read through the limit: a body that runs past it (sent without its
    // length) is cut off there.
    let body = axum::body::to_bytes(body, hirc_proto::MAX_EVIDENCE_CHUNK)
        .await
        .map_err(|_| {
            if announced.is_none() {
                too_large()
            } else {
                bad("the request body could not be read")
            }
        })?;
    if body.is_empty() || offset.saturating_add(body.len() as u64) > length {
        return Err(bad("the chunk is empty, or runs past the item's length"));
    }
    if Sha256::digest(&body).as_slice() != claimed.as_slice() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Unprocessable,
            "the chunk does not match its Content-Digest; it was damaged on the way",
        ));
    }
    // The start of an age file: nothing else is taken, so the hub never
    // holds a readable file.
    if offset == 0 && !body.starts_with(b"age-encryption.org/v1\n") {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Unprocessable,
            "evidence must be an age-encrypted file",
        ));
    }
    let outcome = state
        .stored(state.store.put_evidence_chunk(EvidenceChunk {
            device_id: device.id,
            report_id,
            evidence_id,
            length,
            digest: digest.clone(),
            offset,
            bytes: body.into(),
            day_quota: state.config.evidence_bytes_per_day,
            now: Utc::now(),
        }))
        .await?;
    let held = match outcome {
        ChunkPut::Stored(held) => held,
        // Not where the held bytes end: the desk goes on from what is held.
        ChunkPut::NotAt(held) => return Ok(Json(state_of(held.as_ref()))),
        ChunkPut::Conflict(_) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                ErrorKind::Conflict,
                "this desk is sending an item of evidence with this id with another length, digest or report; nothing was changed",
            ));
        }
        ChunkPut::OverQuota => {
            tracing::warn!(device = %device.id, "evidence refused: the desk's daily amount is used up");
            return Err(ApiError::new(
                StatusCode::TOO_MANY_REQUESTS,
                ErrorKind::RateLimited,
                format!(
                    "this desk has sent as much evidence in the last 24 hours as the hub takes ({} MiB); the rest goes later",
                    state.config.evidence_bytes_per_day / (1024 * 1024)
                ),
            )
            .retry_after(3600));
        }
        ChunkPut::Erased(gone) => {
            return Err(ApiError::new(
                StatusCode::GONE,
                ErrorKind::Erased,
                format!(
                    "this report was erased at the person's request on {}; it is never stored again",
                    gone.erased_at.format("%Y-%m-%d")
                ),
            ));
        }
    };
    if held.received < held.length {
        return Ok(Json(state_of(Some(&held))));
    }
    // Every byte is here: the item is whole only if its digest checks.
    let whole = Some(
        state
            .stored(held_sha256(state.store.as_ref(), device.id, evidence_id))
            .await?,
    ) == parse_content_digest(&digest);
    state
        .stored(state.store.settle_evidence(device.id, evidence_id, whole))
        .await?;
    if !whole {
        tracing::warn!(device = %device.id, evidence = %evidence_id, "evidence did not match its digest; discarded");
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Unprocessable,
            "the item does not match its digest; what was held of it is discarded, and it is to be sent again from the start",
        ));
    }
    tracing::info!(device = %device.id, report = %report_id, evidence = %evidence_id, bytes = held.length, "evidence stored");
    Ok(Json(EvidenceState {
        received: held.length,
        length: held.length,
        complete: true,
    }))
}

/// Checks, before a revision naming `items` is stored, that the hub holds
/// every one of them whole, for this report.
pub(super) async fn check_held(
    state: &AppState,
    device_id: Uuid,
    report_id: Uuid,
    items: &[EvidenceItem],
) -> Result<(), ApiError> {
    for item in items {
        let held = state
            .stored(state.store.evidence_held(device_id, item.id))
            .await?;
        let whole = held.is_some_and(|h| {
            h.complete
                && h.report_id == report_id
                && h.length == item.length
                && h.digest == item.digest
        });
        if !whole {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                ErrorKind::EvidenceIncomplete,
                // The item is not named back: an error repeats nothing the
                // client sent (docs/threat-model.md).
                "the hub does not hold every item of evidence this revision names, whole; they are sent first, then the report",
            ));
        }
    }
    Ok(())
}

/// Marks `items` as named by the revision about to be stored, so that no
/// sweep takes them; fails as [`check_held`] does if one went meanwhile.
pub(super) async fn name(
    state: &AppState,
    device_id: Uuid,
    report_id: Uuid,
    items: &[EvidenceItem],
) -> Result<(), ApiError> {
    if items.is_empty()
        || state
            .stored(
                state
                    .store
                    .name_evidence(device_id, report_id, items.to_vec()),
            )
            .await?
    {
        return Ok(());
    }
    Err(ApiError::new(
        StatusCode::CONFLICT,
        ErrorKind::EvidenceIncomplete,
        "the hub no longer holds all of this report's evidence; it is sent first, then the report",
    ))
}

/// Sweeps away, now and every hour while the hub runs, the items of
/// evidence no revision names that have been idle longer than the
/// configuration allows (those of a desk reset or given up mid-upload:
/// nothing else ever deletes them).
pub(super) async fn sweep_unnamed_hourly(state: AppState) {
    let Some(idle) = state.config.unnamed_evidence_idle else {
        return;
    };
    let mut every = tokio::time::interval(std::time::Duration::from_secs(3600));
    every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        every.tick().await;
        // Its own failure, not the store's counter of failed requests: no
        // desk waits on it, and the next hour tries again.
        match state
            .store
            .sweep_unnamed_evidence(chrono::Utc::now() - idle)
            .await
        {
            Ok(swept) if swept.items > 0 => {
                tracing::info!(
                    items = swept.items,
                    bytes = swept.bytes,
                    idle_days = idle.num_days(),
                    "swept away evidence no report names"
                );
            }
            Ok(_) => {}
            Err(e) => {
                tracing::warn!(error = %e, "could not sweep away evidence no report names; trying again in an hour");
            }
        }
    }
}
