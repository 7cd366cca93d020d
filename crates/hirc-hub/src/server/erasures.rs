//! Erasure at the person's request: the desk that sent a report asks, with
//! a notice signed by its device key, for every revision to be deleted. The
//! hub keeps a tombstone (which report, which device, when) and answers
//! with a receipt signed by its receipt key; the same notice again gets the
//! same receipt.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use chrono::Utc;
use hirc_proto::{ERASURE_FORMAT, ErasureNotice, ErasureReceipt, ErrorKind};
use uuid::Uuid;

use super::{ApiError, AppState, AuthDevice};

/// `POST /v1/reports/{report_id}/erasure`.
pub(super) async fn erase(
    State(state): State<AppState>,
    AuthDevice(device): AuthDevice,
    Path(report_id): Path<Uuid>,
    body: Result<Json<ErasureNotice>, JsonRejection>,
) -> Result<Json<ErasureReceipt>, ApiError> {
    state.check_rate(device.id).await?;
    let Json(notice) = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorKind::TooLarge,
                "an erasure notice is a few hundred bytes; this request is far larger",
            )
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorKind::BadRequest,
                "send an erasure notice: {\"format\": \"hirc-erasure\", \"report_id\", \"erased_at\", \"signature\"}",
            )
        }
    })?;
    let unprocessable = |message: &str| {
        ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Unprocessable,
            message,
        )
    };
    if notice.format != ERASURE_FORMAT || notice.report_id != report_id {
        return Err(unprocessable(
            "the notice is not an erasure of the report in the address",
        ));
    }
    // A desk's clock may be off, but not by days: a notice dated far ahead
    // would put a wrong date on the tombstone for good.
    let now = Utc::now();
    if notice.erased_at > now + chrono::Duration::days(1) {
        return Err(unprocessable(
            "the erasure is dated in the future: check the desk's clock",
        ));
    }
    let Some(device_key) = device.device_key.as_deref() else {
        return Err(unprocessable(
            "this desk was enrolled before desks had device keys, so its notices cannot be checked: enrol it again, and it sends the erasure again by itself",
        ));
    };
    if hirc_proto::sign::verify_erasure(device_key, &notice).is_err() {
        tracing::warn!(device = %device.id, report = %report_id, "erasure notice with a bad signature refused");
        return Err(unprocessable(
            "the erasure notice is not signed by this desk's device key",
        ));
    }
    let gone = state
        .stored(
            state
                .store
                .erase(device.id, report_id, notice.erased_at, now),
        )
        .await?;
    tracing::info!(device = %device.id, report = %report_id, revisions = gone.revisions_deleted, "report erased at the person's request");
    let mut receipt = ErasureReceipt {
        report_id,
        device_id: gone.device_id,
        erased_at: gone.erased_at,
        received_at: gone.received_at,
        revisions_deleted: gone.revisions_deleted,
        signature: None,
    };
    state.receipt_key.sign_erasure_receipt(&mut receipt);
    Ok(Json(receipt))
}
