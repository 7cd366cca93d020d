//! Who is asking and how often: the guessing throttle, per-device rate
//! limits, and the device a token names.

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderMap, StatusCode, header};
use hirc_proto::ErrorKind;
use uuid::Uuid;

use super::{ApiError, AppState, MAX_REMEMBERED_ADDRESSES, Peer};
use crate::secrets;
use crate::store::Device;

impl AppState {
    /// The client's address as the guessing throttle sees it: the peer, or
    /// behind a trusted local proxy the address it forwarded.
    pub(super) fn client(&self, peer: Option<&Peer>, headers: &HeaderMap) -> Option<IpAddr> {
        let peer = peer?.0.ip();
        if self.config.trust_forwarded_for && peer.is_loopback() {
            // The proxy appends the address it saw, after whatever the
            // client wrote (which may lie): the last value of the last line.
            let forwarded = headers
                .get_all("x-forwarded-for")
                .iter()
                .next_back()
                .and_then(|v| v.to_str().ok())
                .and_then(|v| v.rsplit(',').next())
                .and_then(|v| v.trim().parse().ok());
            if let Some(ip) = forwarded {
                return Some(ip);
            }
        }
        Some(peer)
    }

    /// Counts (`add`) or reads a hit in the storage's shared counts for the
    /// current minute; `None` when this hub's storage keeps no shared counts
    /// (then this process's memory does). Returns the hits and the seconds
    /// left in the minute.
    async fn shared(&self, key: String, add: bool) -> Result<Option<(u32, u64)>, ApiError> {
        let Some(limits) = self.store.shared_limits() else {
            return Ok(None);
        };
        // The first hit of a new minute (by this process's clock: it only
        // decides when to tidy) forgets the minutes before it.
        let minute = chrono::Utc::now().timestamp().div_euclid(60);
        if self.limits_minute.fetch_max(minute, Ordering::Relaxed) < minute {
            let store = self.store.clone();
            tokio::spawn(async move {
                if let Some(limits) = store.shared_limits()
                    && let Err(e) = limits.forget_old_hits().await
                {
                    tracing::warn!(error = %e, "old rate-limit counts could not be deleted");
                }
            });
        }
        let counted = if add {
            self.stored(limits.hit(&key)).await?
        } else {
            self.stored(limits.hits(&key)).await?
        };
        Ok(Some((counted.hits, counted.seconds_left)))
    }

    /// Refuses, until its minute is up, an address that has sent too many
    /// wrong enrolment codes: guessing is slowed to a trickle. With several
    /// hub processes on one database, the count is theirs together. (An
    /// upload is never refused for others' guesses: only its own wrong
    /// token counts, in [`AuthDevice`].)
    pub(super) async fn check_guessing(&self, client: Option<IpAddr>) -> Result<(), ApiError> {
        let Some(ip) = client else { return Ok(()) };
        if let Some((hits, left)) = self.shared(format!("guesses:{ip}"), false).await? {
            return if hits >= self.config.auth_failures_per_minute {
                Err(self.guessing_refused(left))
            } else {
                Ok(())
            };
        }
        let failures = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match failures.get(&ip) {
            Some((since, n)) if *n >= self.config.auth_failures_per_minute => {
                let left = 60u64.saturating_sub(since.elapsed().as_secs());
                if left == 0 {
                    return Ok(());
                }
                drop(failures);
                Err(self.guessing_refused(left))
            }
            _ => Ok(()),
        }
    }

    /// Counts a wrong enrolment code or token, and says so in the log once
    /// an address reaches the limit. Returns the seconds left in the minute
    /// when this guess takes the address past its limit (it is refused).
    pub(super) async fn failed_guess(
        &self,
        client: Option<IpAddr>,
        what: &'static str,
    ) -> Option<u64> {
        let ip = client?;
        let limit = self.config.auth_failures_per_minute;
        // The storage failing falls back to this process's memory.
        if let Ok(Some((hits, left))) = self.shared(format!("guesses:{ip}"), true).await {
            self.log_guess(ip, hits, what);
            return (hits > limit).then_some(left);
        }
        let mut failures = self
            .failures
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        if failures.len() >= MAX_REMEMBERED_ADDRESSES {
            failures.retain(|_, (since, _)| since.elapsed() < Duration::from_secs(60));
            if failures.len() >= MAX_REMEMBERED_ADDRESSES {
                failures.clear();
            }
        }
        let now = Instant::now();
        let entry = failures.entry(ip).or_insert((now, 0));
        if now.duration_since(entry.0) >= Duration::from_secs(60) {
            *entry = (now, 0);
        }
        entry.1 += 1;
        let (hits, since) = (entry.1, entry.0);
        drop(failures);
        self.log_guess(ip, hits, what);
        (hits > limit).then(|| 60u64.saturating_sub(since.elapsed().as_secs()).max(1))
    }

    /// The answer to a guess past the limit.
    pub(super) fn guessing_refused(&self, left: u64) -> ApiError {
        self.metrics.rate_limited("address_guesses");
        ApiError::new(
            StatusCode::TOO_MANY_REQUESTS,
            ErrorKind::RateLimited,
            "too many wrong enrolment codes or tokens from this address; wait a minute",
        )
        .retry_after(left.max(1))
    }

    fn log_guess(&self, ip: IpAddr, hits: u32, what: &'static str) {
        if hits == self.config.auth_failures_per_minute {
            tracing::warn!(client = %ip, limit = hits, "{what}: too many wrong guesses in a minute from one address; refusing it for the rest of the minute");
        } else {
            tracing::debug!(client = %ip, "{what}");
        }
    }

    /// A fixed one-minute window per device. With several hub processes on
    /// one database, the uploads counted are theirs together.
    pub(super) async fn check_rate(&self, device: Uuid) -> Result<(), ApiError> {
        // Past the limit, and the seconds left in its window.
        let refused = match self.shared(format!("uploads:{device}"), true).await? {
            Some((hits, left)) => (hits > self.config.rate_per_minute).then_some(left),
            None => {
                let mut windows = self
                    .windows
                    .lock()
                    .unwrap_or_else(std::sync::PoisonError::into_inner);
                let now = Instant::now();
                let entry = windows.entry(device).or_insert((now, 0));
                if now.duration_since(entry.0) >= Duration::from_secs(60) {
                    *entry = (now, 0);
                }
                if entry.1 >= self.config.rate_per_minute {
                    Some(60u64.saturating_sub(now.duration_since(entry.0).as_secs()))
                } else {
                    entry.1 += 1;
                    None
                }
            }
        };
        match refused {
            Some(left) => {
                self.metrics.rate_limited("device_uploads");
                Err(ApiError::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    ErrorKind::RateLimited,
                    "too many uploads from this desk; it will retry by itself",
                )
                .retry_after(left.max(1)))
            }
            None => Ok(()),
        }
    }
}

/// The device behind a valid, unrevoked bearer token.
pub struct AuthDevice(pub Device);

impl FromRequestParts<AppState> for AuthDevice {
    type Rejection = ApiError;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let unauthorized =
            |m: &str| ApiError::new(StatusCode::UNAUTHORIZED, ErrorKind::Unauthorized, m);
        // A desk with a valid token is never held up by others' wrong
        // guesses (behind a load balancer, every desk shares its address);
        // only a wrong token counts, and one past the limit is refused.
        let client = state.client(parts.extensions.get::<Peer>(), &parts.headers);
        let Some(token) = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "))
        else {
            state.metrics.auth_failure("no_token");
            if let Some(left) = state.failed_guess(client, "upload without a token").await {
                return Err(state.guessing_refused(left));
            }
            return Err(unauthorized(
                "a bearer token is required; enrol the desk first",
            ));
        };
        let token_hash = secrets::hash(token.trim());
        let Some(device) = state
            .stored(state.store.device_by_token(&token_hash))
            .await?
        else {
            state.metrics.auth_failure("unknown_token");
            if let Some(left) = state.failed_guess(client, "unknown token").await {
                return Err(state.guessing_refused(left));
            }
            return Err(unauthorized("this desk is not enrolled with this hub"));
        };
        if device.revoked_at.is_some() {
            state.metrics.auth_failure("revoked");
            return Err(unauthorized(
                "this desk has been revoked by the partnership; ask them to enrol it again",
            ));
        }
        Ok(AuthDevice(device))
    }
}
