//! The API's handlers: health, enrolment, upload, the receipt key.

use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::{BytesRejection, JsonRejection};
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::Utc;
use hirc_proto::sign::{is_public_key, verify_enrolment_proof};
use hirc_proto::{
    DIGEST_HEADER, EVIDENCE_HEADER, EnrolRequest, EnrolResponse, ErrorKind, Health,
    PROTOCOL_VERSION, Receipt, ReceiptKey, evidence_manifest_digest, parse_content_digest,
    parse_evidence_header,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::{ApiError, AppState, AuthDevice, Peer};
use crate::secrets;
use crate::store::{Put, Redeem};

pub(super) async fn health() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
        protocol: PROTOCOL_VERSION.into(),
    })
}

/// Ready to take uploads: the storage answers. (`/v1/health` says only
/// that the process is up.)
pub(super) async fn ready(State(state): State<AppState>) -> Result<Json<Health>, ApiError> {
    state.stored(state.store.ping()).await.map_err(|_| {
        ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            ErrorKind::Unavailable,
            "the hub cannot reach its storage",
        )
        .retry_after(5)
    })?;
    Ok(Json(Health {
        status: "ready".into(),
        protocol: PROTOCOL_VERSION.into(),
    }))
}

pub(super) async fn enrol(
    State(state): State<AppState>,
    peer: Option<axum::Extension<Peer>>,
    headers: HeaderMap,
    body: Result<Json<EnrolRequest>, JsonRejection>,
) -> Result<Response, ApiError> {
    let client = state.client(peer.as_deref(), &headers);
    state.check_guessing(client).await?;
    let Json(request) = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorKind::TooLarge,
                "an enrolment request is a few hundred bytes; this one is far larger",
            )
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorKind::BadRequest,
                format!("the enrolment request is not valid: {}", e.body_text()),
            )
        }
    })?;
    let name = request.device_name.trim().to_string();
    if name.is_empty() || name.chars().count() > 100 || name.chars().any(char::is_control) {
        return Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorKind::BadRequest,
            "device_name must be 1 to 100 printable characters",
        ));
    }
    // A device key is registered only with proof that the desk holds it:
    // nobody can claim another desk's key (and so its report ids).
    let device_key = match (&request.device_key, &request.key_proof) {
        (None, _) => None,
        (Some(key), Some(proof))
            if is_public_key(key) && verify_enrolment_proof(key, &request.code, proof).is_ok() =>
        {
            Some(key.trim().to_string())
        }
        _ => {
            return Err(ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorKind::BadRequest,
                "the device key is not a key, or its proof does not match the code",
            ));
        }
    };
    let code_hash = secrets::hash(&secrets::normalise_code(&request.code));
    let token = secrets::new_token();
    let token_hash = secrets::hash(&token);
    let store = &state.store;
    let outcome = state
        .stored(async {
            let outcome = store
                .redeem(
                    &code_hash,
                    &name,
                    &token_hash,
                    device_key.as_deref(),
                    Utc::now(),
                )
                .await?;
            // The desk was this device before: proved by that device's token
            // (not a revoked one), a device from before device keys takes the
            // desk's key. The enrolment stands even if this fails.
            if let (Redeem::Enrolled(_), Some(key), Some(previous)) =
                (&outcome, &device_key, &request.previous)
            {
                let adopted = match store
                    .device_by_token(&secrets::hash(previous.token.trim()))
                    .await
                {
                    Ok(Some(old)) if old.id == previous.device_id && old.revoked_at.is_none() => {
                        store.adopt_key(old.id, key).await
                    }
                    other => other.map(drop),
                };
                if let Err(e) = adopted {
                    tracing::warn!(error = %e, "the previous device could not take the desk's key");
                }
            }
            Ok(outcome)
        })
        .await?;
    match outcome {
        Redeem::Enrolled(device) => {
            state.metrics.enrolment("enrolled");
            tracing::info!(device = %device.id, centre = %device.centre, "device enrolled");
            let body = EnrolResponse {
                device_id: device.id,
                token,
                hub_name: state.config.hub_name.clone(),
                recipients: state.config.recipients.clone(),
                receipt_key: Some(state.receipt_key.public()),
            };
            Ok((StatusCode::CREATED, Json(body)).into_response())
        }
        Redeem::Unknown => {
            state.metrics.enrolment("unknown_code");
            if let Some(left) = state.failed_guess(client, "unknown enrolment code").await {
                return Err(state.guessing_refused(left));
            }
            Err(ApiError::new(
                StatusCode::UNAUTHORIZED,
                ErrorKind::Unauthorized,
                "unknown enrolment code; check it, or ask the partnership for a new one",
            ))
        }
        Redeem::UsedOrExpired => {
            state.metrics.enrolment("used_or_expired");
            if let Some(left) = state
                .failed_guess(client, "used or expired enrolment code")
                .await
            {
                return Err(state.guessing_refused(left));
            }
            Err(ApiError::new(
                StatusCode::GONE,
                ErrorKind::CodeUsed,
                "this enrolment code was already used or has expired; ask the partnership for a new one",
            ))
        }
    }
}

pub(super) async fn upload(
    State(state): State<AppState>,
    AuthDevice(device): AuthDevice,
    Path((report_id, revision)): Path<(Uuid, u32)>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<Response, ApiError> {
    state.check_rate(device.id).await?;
    let body = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorKind::TooLarge,
                format!(
                    "the report is larger than this hub accepts ({} bytes)",
                    state.config.max_body_bytes
                ),
            )
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorKind::BadRequest,
                "the request body could not be read",
            )
        }
    })?;
    let digest_header = headers
        .get(DIGEST_HEADER)
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorKind::BadRequest,
                "a Content-Digest header (sha-256) is required",
            )
        })?;
    let claimed = parse_content_digest(digest_header).ok_or_else(|| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Unprocessable,
            "the Content-Digest header has no valid sha-256 value",
        )
    })?;
    if Sha256::digest(&body).as_slice() != claimed.as_slice() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Unprocessable,
            "the body does not match its Content-Digest; it was damaged on the way",
        ));
    }
    if age::Decryptor::new_buffered(&body[..]).is_err() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Unprocessable,
            "the body is not an age-encrypted file",
        ));
    }
    // Its evidence, named in clear (the hub cannot read the report): the
    // revision is stored only once every item is held whole.
    let evidence = match headers.get(EVIDENCE_HEADER) {
        None => None,
        Some(value) => {
            let items = value
                .to_str()
                .ok()
                .and_then(parse_evidence_header)
                .ok_or_else(|| {
                    ApiError::new(
                        StatusCode::BAD_REQUEST,
                        ErrorKind::BadRequest,
                        format!(
                            "the hirc-evidence header does not read (at most {} items of ID LENGTH DIGEST, separated by commas)",
                            hirc_proto::MAX_EVIDENCE_ITEMS
                        ),
                    )
                })?;
            super::evidence::check_held(&state, device.id, report_id, &items).await?;
            super::evidence::name(&state, device.id, report_id, &items).await?;
            (!items.is_empty()).then(|| evidence_manifest_digest(&items))
        }
    };
    let digest = hirc_proto::content_digest(&body);
    let device_id = device.id;
    let size = body.len();
    let outcome = state
        .stored(state.store.put_with_evidence(
            device_id,
            report_id,
            revision,
            &digest,
            body.into(),
            evidence,
            Utc::now(),
        ))
        .await?;
    let sign = |mut receipt: Receipt| {
        state.receipt_key.sign_receipt(&mut receipt);
        receipt
    };
    match outcome {
        Put::Created(receipt) => {
            state.metrics.upload("created");
            tracing::info!(device = %device_id, report = %report_id, revision, bytes = size, "report stored");
            Ok((StatusCode::CREATED, Json(sign(receipt))).into_response())
        }
        Put::Repeat(receipt) => {
            state.metrics.upload("repeat");
            Ok((StatusCode::OK, Json(sign(receipt))).into_response())
        }
        Put::Conflict(held) => {
            state.metrics.upload("conflict");
            tracing::warn!(device = %device_id, report = %report_id, revision, "conflicting upload refused");
            let mut error = ApiError::new(
                StatusCode::CONFLICT,
                ErrorKind::Conflict,
                "this desk stored this report revision earlier with a different body; nothing was changed",
            );
            error.body.receipt = Some(sign(held));
            Err(error)
        }
        Put::Erased(gone) => {
            state.metrics.upload("erased");
            tracing::warn!(device = %device_id, report = %report_id, revision, "upload of an erased report refused");
            Err(ApiError::new(
                StatusCode::GONE,
                ErrorKind::Erased,
                format!(
                    "this report was erased at the person's request on {}; it is never stored again",
                    gone.erased_at.format("%Y-%m-%d")
                ),
            ))
        }
    }
}

/// The receipt key, for a desk enrolled before receipts were signed (it
/// pins it on first sight, over its authenticated connection).
pub(super) async fn receipt_key(
    State(state): State<AppState>,
    AuthDevice(_): AuthDevice,
) -> Json<ReceiptKey> {
    Json(ReceiptKey {
        receipt_key: state.receipt_key.public(),
    })
}
