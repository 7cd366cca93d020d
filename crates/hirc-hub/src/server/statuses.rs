//! Word back from the partnership: a desk registers the key statuses are
//! encrypted to, and fetches the statuses set on its reports. The hub
//! keeps and hands out ciphertext it cannot read.

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use chrono::Utc;
use hirc_proto::{ErrorKind, MAX_STATUSES_PER_PAGE, StatusKey, StatusList};

use super::{ApiError, AppState, AuthDevice};

/// `PUT /v1/status-key`: registers (or replaces) this desk's status key.
pub(super) async fn set_status_key(
    State(state): State<AppState>,
    AuthDevice(device): AuthDevice,
    body: Result<Json<StatusKey>, JsonRejection>,
) -> Result<StatusCode, ApiError> {
    state.check_rate(device.id).await?;
    let Json(key) = body.map_err(|e| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            // The key is under 100 bytes; the limit is enrolment's (8 KiB).
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ErrorKind::TooLarge,
                "a status key is under 100 bytes; this request is far larger",
            )
        } else {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                ErrorKind::BadRequest,
                "send {\"recipient\": \"age1…\"}",
            )
        }
    })?;
    if key.recipient.len() > 100 || key.recipient.parse::<age::x25519::Recipient>().is_err() {
        return Err(ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            ErrorKind::Unprocessable,
            "a status key is an age X25519 recipient (age1…)",
        ));
    }
    state
        .stored(
            state
                .store
                .set_status_key(device.id, &key.recipient, Utc::now()),
        )
        .await?;
    tracing::info!(device = %device.id, "status key registered");
    Ok(StatusCode::NO_CONTENT)
}

/// `GET /v1/statuses?after=SEQ`: the statuses on this desk's reports after
/// `after`, oldest first, a page at a time.
pub(super) async fn statuses(
    State(state): State<AppState>,
    AuthDevice(device): AuthDevice,
    RawQuery(query): RawQuery,
) -> Result<Json<StatusList>, ApiError> {
    state.check_rate(device.id).await?;
    let after = after(query.as_deref()).ok_or_else(|| {
        ApiError::new(
            StatusCode::BAD_REQUEST,
            ErrorKind::BadRequest,
            "`after` is the last sequence number the desk holds (a whole number)",
        )
    })?;
    let statuses = state
        .stored(
            state
                .store
                .statuses_after(device.id, after.max(0), MAX_STATUSES_PER_PAGE),
        )
        .await?;
    Ok(Json(StatusList { statuses }))
}

/// `after=N` from the query (0 without one); `None` for anything else.
fn after(query: Option<&str>) -> Option<i64> {
    let Some(query) = query.filter(|q| !q.is_empty()) else {
        return Some(0);
    };
    let mut after = None;
    for pair in query.split('&') {
        match pair.split_once('=') {
            Some(("after", n)) if after.is_none() && n.len() <= 19 => after = n.parse().ok(),
            _ => return None,
        }
    }
    after
}

#[cfg(test)]
mod tests {
    #[test]
    fn after_is_one_whole_number_or_nothing() {
        assert_eq!(super::after(None), Some(0));
        assert_eq!(super::after(Some("")), Some(0));
        assert_eq!(super::after(Some("after=42")), Some(42));
        for bad in [
            "after=x",
            "after=1&after=2",
            "before=3",
            "after=99999999999999999999",
            "after",
        ] {
            assert_eq!(super::after(Some(bad)), None, "{bad}");
        }
    }
}
