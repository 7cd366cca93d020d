//! The outbox loop: one [`run_pass`] uploads what is due, a few at a time,
//! and records each outcome in its own transaction; [`Worker`] runs passes
//! in the background, woken by "sync now", a poll timer, or backoff expiry,
//! and publishes its status.
//!
//! Nothing here needs anyone signed in: payloads are made when reports are
//! sealed, the token is in the credential file, receipts are checked with
//! the hub's public key, and the retention purge only deletes. So the
//! worker runs while the app is locked, and `hirc sync` asks for no
//! passphrase.
//!
//! SQLite work runs on tokio's blocking pool; the desk is behind a mutex
//! because a SQLite connection serves one thread at a time.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hirc_core::Desk;
use hirc_core::outbox::Delivery;
use rand::Rng;
use serde::Serialize;
use tokio::sync::{mpsc, watch};
use tokio::task::JoinSet;

use crate::client::{HubClient, UploadError};

/// The desk, shared between the worker and whoever else uses it.
pub type SharedDesk = Arc<Mutex<Desk>>;

/// The longest wait between attempts for one report.
pub const BACKOFF_CAP: Duration = Duration::from_secs(600);
const BACKOFF_BASE: Duration = Duration::from_secs(2);

/// Why a pass could not run at all.
#[derive(Debug, thiserror::Error)]
pub enum SyncError {
    /// The desk has no hub yet.
    #[error("this desk is not enrolled with a hub yet: a coordinator enrols it")]
    NotEnrolled,
    /// The store failed.
    #[error(transparent)]
    Desk(#[from] hirc_core::Error),
    /// The desk's hub settings (its address, its certificate authority)
    /// cannot be used: nothing was sent, and nothing was recorded against
    /// any report.
    #[error(transparent)]
    Client(#[from] UploadError),
    /// A worker thread failed.
    #[error("the sync worker failed: {0}")]
    Internal(String),
}

/// How a pass behaves.
#[derive(Debug, Clone, Copy)]
pub struct PassOptions {
    /// Try everything waiting now, ignoring backoff (an explicit "sync now").
    pub ignore_backoff: bool,
    /// Uploads in flight at once.
    pub in_flight: usize,
}

impl Default for PassOptions {
    fn default() -> Self {
        Self {
            ignore_backoff: false,
            in_flight: 4,
        }
    }
}

/// What one pass did.
#[cfg_attr(feature = "bindings", derive(specta::Type))]
#[derive(Debug, Clone, Default, Serialize)]
pub struct PassReport {
    /// Receipts stored this pass.
    pub delivered: usize,
    /// Attempts that failed and will be retried.
    pub retrying: usize,
    /// Reports the hub refused for good this pass.
    pub refused: usize,
    /// Whether the hub answered at all.
    pub reached_hub: bool,
    /// Distinct failure messages (no content, ever).
    pub errors: Vec<String>,
    /// Whether the hub's certificate was not trusted (so a tool can say
    /// how to trust the partnership's own authority).
    pub certificate_refused: bool,
    /// The outbox after the pass.
    pub outbox: hirc_core::outbox::OutboxSummary,
}

/// Sends the erasures the hub has not confirmed, and records each signed
/// receipt (checked by the engine) or why it failed. Returns how many the
/// hub confirmed.
async fn send_erasures(
    desk: &SharedDesk,
    client: &HubClient,
    token: &str,
) -> Result<usize, SyncError> {
    let pending = with_desk(desk, |d| Ok(d.pending_erasures()?)).await?;
    let mut confirmed = 0;
    for notice in pending {
        let id = notice.report_id;
        match client.erase(token, &notice).await {
            Ok(receipt) => {
                if with_desk(desk, move |d| Ok(d.record_erasure_receipt(&receipt)?)).await? {
                    confirmed += 1;
                } else {
                    with_desk(desk, move |d| {
                        Ok(d.record_erasure_failure(
                            id,
                            "the hub's receipt for the erasure did not check; it is sent again",
                            false,
                        )?)
                    })
                    .await?;
                }
            }
            Err(e) if e.is_unreachable() => return Err(e.into()),
            Err(e) => {
                let refused = !e.is_retryable();
                let message = e.to_string();
                tracing::warn!(report = %id, "erasure not confirmed by the hub: {message}");
                with_desk(desk, move |d| {
                    Ok(d.record_erasure_failure(id, &message, refused)?)
                })
                .await?;
            }
        }
    }
    if confirmed > 0 {
        tracing::info!(count = confirmed, "erasures confirmed by the hub");
    }
    Ok(confirmed)
}

/// Registers the desk's status key if the hub lacks it, then fetches and
/// keeps the statuses set on this desk's reports since the last one held.
async fn fetch_word_back(
    desk: &SharedDesk,
    client: &HubClient,
    token: &str,
) -> Result<usize, SyncError> {
    if let Some(recipient) = with_desk(desk, |d| Ok(d.status_key_to_register()?)).await? {
        client.register_status_key(token, &recipient).await?;
        with_desk(desk, |d| Ok(d.status_key_registered()?)).await?;
    }
    let mut kept = 0;
    // Bounded: a hub that keeps answering full pages cannot hold the pass;
    // and a page the desk could not move past (no receipt key pinned yet to
    // check it) is not asked for again in the same pass.
    let mut asked = None;
    for _ in 0..100 {
        let after = with_desk(desk, |d| Ok(d.statuses_after()?)).await?;
        if asked == Some(after) {
            break;
        }
        asked = Some(after);
        let page = client.statuses(token, after).await?;
        let full = page.len() == hirc_proto::MAX_STATUSES_PER_PAGE;
        kept += with_desk(desk, move |d| Ok(d.record_statuses(&page)?)).await?;
        if !full {
            break;
        }
    }
    if kept > 0 {
        tracing::info!(count = kept, "word from the partnership received");
    }
    Ok(kept)
}

/// The most of an item of evidence sent in one request: a connection cut
/// mid-chunk costs at most this much again, and a slow line (1 Mbit/s)
/// sends one well within the hub's three minutes for it.
pub const EVIDENCE_CHUNK: usize = 2 * 1024 * 1024;

/// Sends an item of evidence to the hub from where the hub says it stands,
/// chunk by chunk, until the hub holds it whole. Returns the bytes sent.
async fn send_evidence(
    desk: &SharedDesk,
    client: &HubClient,
    token: &str,
    report_id: uuid::Uuid,
    item: &hirc_proto::EvidenceItem,
) -> Result<u64, UploadError> {
    let mut state = client.evidence_state(token, report_id, item.id).await?;
    let mut sent = 0u64;
    // The chunk after the one on the wire, read (and hashed) meanwhile, so
    // the desk's work overlaps the network's and the hub's; used only if
    // the hub then stands where it begins.
    let mut ahead: Option<(u64, ChunkForHub)> = None;
    // A hub whose answers never move forward cannot keep the pass here.
    let most_rounds = item.length / EVIDENCE_CHUNK as u64 + 8;
    for _ in 0..most_rounds {
        if state.complete {
            if sent > 0 {
                tracing::info!(report = %report_id, evidence = %item.id, bytes = sent, "evidence sent");
            }
            return Ok(sent);
        }
        let offset = state.received;
        if offset >= item.length {
            return Err(UploadError::BadAnswer(
                "the hub says it holds more of an item of evidence than there is".into(),
            ));
        }
        let chunk = match ahead.take() {
            Some((at, chunk)) if at == offset => chunk,
            _ => read_chunk(desk, item.id, offset).await?,
        };
        if chunk.bytes.is_empty() {
            return Err(UploadError::Local(
                "its copy for the hub is shorter than its manifest says".into(),
            ));
        }
        let next = offset + chunk.bytes.len() as u64;
        sent += chunk.bytes.len() as u64;
        let put =
            client.put_evidence_chunk(token, report_id, item, offset, chunk.bytes, &chunk.digest);
        state = if next < item.length {
            let (answer, read) = tokio::join!(put, read_chunk(desk, item.id, next));
            // A read that failed is tried again when its chunk is due.
            ahead = read.ok().map(|chunk| (next, chunk));
            answer?
        } else {
            put.await?
        };
        // A hub (or something in between) that takes chunks and never
        // holds more is not sent the same bytes again and again.
        if !state.complete && state.received <= offset {
            return Err(UploadError::BadAnswer(
                "the hub took a chunk of evidence but holds no more of it than before".into(),
            ));
        }
    }
    Err(UploadError::BadAnswer(
        "the hub's answers about an item of evidence do not move forward".into(),
    ))
}

/// Up to [`EVIDENCE_CHUNK`] bytes of an item's copy for the hub, with the
/// digest its request carries.
struct ChunkForHub {
    bytes: Vec<u8>,
    digest: String,
}

/// Reads the chunk of `item` at `offset`, then hashes it with the desk let
/// go, on the blocking pool.
async fn read_chunk(
    desk: &SharedDesk,
    item: uuid::Uuid,
    offset: u64,
) -> Result<ChunkForHub, UploadError> {
    let desk = desk.clone();
    tokio::task::spawn_blocking(move || {
        let bytes = desk
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .evidence_chunk_for_hub(item, offset, EVIDENCE_CHUNK)
            .map_err(|e| UploadError::Local(e.to_string()))?;
        let digest = hirc_proto::content_digest(&bytes);
        Ok(ChunkForHub { bytes, digest })
    })
    .await
    .map_err(|e| UploadError::Local(format!("the sync worker failed: {e}")))?
}

/// The worker's published state.
#[cfg_attr(feature = "bindings", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Connection {
    /// Not enrolled yet.
    NotEnrolled,
    /// A pass is running.
    Syncing,
    /// The hub answered the last pass (or there was nothing to send).
    Online,
    /// The hub could not be reached.
    Offline,
}

/// What the UI and `hirc sync --watch` show.
#[cfg_attr(feature = "bindings", derive(specta::Type))]
#[derive(Debug, Clone, Serialize)]
pub struct SyncStatus {
    /// Online, offline, syncing, not enrolled.
    pub connection: Connection,
    /// Reports waiting to upload.
    pub queued: i64,
    /// Reports refused for good.
    pub refused: i64,
    /// Reports delivered.
    pub delivered: i64,
    /// When a receipt was last stored.
    #[serde(serialize_with = "hirc_core::time::as_text_opt")]
    #[cfg_attr(feature = "bindings", specta(type = Option<String>))]
    pub last_success: Option<chrono::DateTime<chrono::Utc>>,
    /// The most recent failure.
    pub last_error: Option<String>,
    /// Erasures the hub has not confirmed yet.
    pub erasures_waiting: i64,
}

/// A full-jitter exponential delay: random in [0, min(cap, base·2^attempts)],
/// at least one second.
pub fn backoff(attempts: u32) -> Duration {
    let exp = BACKOFF_BASE.saturating_mul(1u32 << attempts.min(16));
    let ceiling = exp.min(BACKOFF_CAP);
    let millis = rand::thread_rng().gen_range(0..=ceiling.as_millis() as u64);
    Duration::from_millis(millis).max(Duration::from_secs(1))
}

async fn with_desk<T: Send + 'static>(
    desk: &SharedDesk,
    f: impl FnOnce(&mut Desk) -> Result<T, SyncError> + Send + 'static,
) -> Result<T, SyncError> {
    let desk = desk.clone();
    tokio::task::spawn_blocking(move || {
        let mut guard = desk
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        f(&mut guard)
    })
    .await
    .map_err(|e| SyncError::Internal(e.to_string()))?
}

/// Uploads what is due once, recording every outcome, then runs the
/// retention purge.
pub async fn run_pass(desk: &SharedDesk, options: PassOptions) -> Result<PassReport, SyncError> {
    let credentials = with_desk(desk, |d| {
        d.upload_credentials()?.ok_or(SyncError::NotEnrolled)
    })
    .await?;
    let client = HubClient::new(&credentials.link.url, credentials.link.ca_pem.as_deref())?;
    let token: Arc<str> = Arc::from(credentials.token());
    if credentials.link.receipt_key.is_none() {
        // Enrolled before receipts were signed: the hub's key is pinned on
        // first sight, over the desk's own authenticated connection.
        match client.receipt_key(&token).await {
            Ok(key) => {
                with_desk(desk, move |d| Ok(d.pin_receipt_key(&key)?)).await?;
            }
            Err(e) => tracing::warn!("the hub's receipt key could not be fetched yet: {e}"),
        }
    }
    let ignore = options.ignore_backoff;
    let due = with_desk(desk, move |d| {
        let now = d.now();
        Ok(d.due_uploads(now, ignore)?)
    })
    .await?;
    let mut report = PassReport {
        reached_hub: due.is_empty(),
        ..PassReport::default()
    };
    let mut queue = due.into_iter();
    let mut running = JoinSet::new();
    let mut offline = false;
    let in_flight = options.in_flight.max(1);
    // Starts uploads until `in_flight` are running (none once offline).
    let top_up = |running: &mut JoinSet<_>, queue: &mut std::vec::IntoIter<_>, offline: bool| {
        while !offline && running.len() < in_flight {
            let Some(upload): Option<hirc_core::outbox::Upload> = queue.next() else {
                break;
            };
            let client = client.clone();
            let token = token.clone();
            let desk = desk.clone();
            running.spawn(async move {
                let result = async {
                    // Its evidence first: the hub stores the revision only
                    // once it holds every item whole.
                    for item in &upload.evidence {
                        send_evidence(&desk, &client, &token, upload.report_id, item).await?;
                    }
                    client
                        .upload(
                            &token,
                            upload.report_id,
                            upload.revision,
                            upload.payload,
                            &upload.evidence,
                        )
                        .await
                }
                .await;
                (upload.report_id, upload.revision, upload.attempts, result)
            });
        }
    };
    loop {
        top_up(&mut running, &mut queue, offline);
        let Some(joined) = running.join_next().await else {
            break;
        };
        // The next upload starts before this outcome is checked and
        // recorded, so the desk's own work overlaps the network's.
        top_up(&mut running, &mut queue, offline);
        let (id, revision, attempts, result) =
            joined.map_err(|e| SyncError::Internal(e.to_string()))?;
        // A receipt (or, with a 409, the receipt of what this desk stored
        // before) is the engine's to check before anything is marked.
        let conflict = matches!(result, Err(UploadError::AlreadyHeld(_)));
        let receipt = match result {
            Ok(receipt) => Ok(receipt),
            Err(UploadError::AlreadyHeld(receipt)) => Ok(*receipt),
            Err(e) => Err(e),
        };
        let error = match receipt {
            Ok(receipt) => {
                report.reached_hub = true;
                let recorded = with_desk(desk, move |d| {
                    match d.record_delivery(id, revision, &receipt) {
                        Ok(done) => Ok(Ok(done)),
                        Err(hirc_core::Error::ReceiptRefused(why)) => Ok(Err((false, why))),
                        Err(e @ hirc_core::Error::ForeignBytes) => Ok(Err((true, e.to_string()))),
                        Err(e) => Err(e.into()),
                    }
                })
                .await?;
                match recorded {
                    Ok(Delivery::Recorded) => {
                        report.delivered += 1;
                        continue;
                    }
                    Ok(Delivery::AlreadyRecorded) => continue,
                    // The hub holds other bytes under this desk's name (a
                    // stolen token?): asking again gets the same answer, so
                    // it stops and a coordinator is told why. The report
                    // stays on the desk, whole.
                    Err((true, why)) if conflict => UploadError::Refused {
                        status: 409,
                        kind: Some(hirc_proto::ErrorKind::Conflict),
                        message: format!("the hub refused this report: {why}"),
                    },
                    // Any other receipt that does not check is no delivery:
                    // the report is sent again later (and stays on the desk).
                    Err((_, why)) => {
                        UploadError::BadAnswer(format!("a receipt was refused: {why}"))
                    }
                }
            }
            Err(e) => e,
        };
        // The desk's settings are at fault, not this report, and no hub said
        // anything: a refusal recorded now would stay after the settings are
        // put right. The pass stops with the reason instead (uploads still in
        // flight are dropped; one cut short is simply sent again).
        if error.is_config() {
            return Err(SyncError::Client(error));
        }
        report.certificate_refused |= matches!(error, UploadError::CertificateRefused);
        if !error.is_unreachable() {
            report.reached_hub = true;
        } else {
            // Offline: stop starting new uploads; those in flight finish.
            offline = true;
        }
        let message = error.to_string();
        if !report.errors.contains(&message) {
            report.errors.push(message.clone());
        }
        // The hub's Retry-After wins; otherwise our own backoff. `None`:
        // refused for good.
        let wait = error
            .is_retryable()
            .then(|| error.retry_after().unwrap_or_else(|| backoff(attempts)));
        if wait.is_some() {
            report.retrying += 1;
        } else {
            report.refused += 1;
        }
        tracing::warn!(report = %id, revision, retryable = error.is_retryable(), "upload failed: {message}");
        with_desk(desk, move |d| {
            let now = d.now();
            let retry_at = wait.map(|w| {
                let w = chrono::Duration::from_std(w).unwrap_or(chrono::Duration::seconds(600));
                now.checked_add_signed(w).unwrap_or(now)
            });
            Ok(d.record_upload_failure(id, revision, &message, retry_at)?)
        })
        .await?;
    }
    // Erasures at the person's request, once the hub has answered; like
    // word back, a failure waits for the next pass.
    if report.reached_hub
        && !offline
        && let Err(e) = send_erasures(desk, &client, &token).await
    {
        tracing::warn!("erasures could not be sent: {e}");
    }
    // Word back from the partnership, once the hub has answered: the
    // desk's status key registered, then what was said since last time. A
    // failure here is logged and tried on the next pass; it never holds
    // up deliveries.
    if report.reached_hub
        && !offline
        && let Err(e) = fetch_word_back(desk, &client, &token).await
    {
        tracing::warn!("word back from the partnership could not be fetched: {e}");
    }
    // Retention runs with every pass, so it happens without anyone having
    // to remember it.
    report.outbox = with_desk(desk, |d| {
        let now = d.now();
        d.purge_expired(now)?;
        Ok(d.outbox_summary()?)
    })
    .await?;
    Ok(report)
}

enum Command {
    SyncNow,
    Stop,
}

/// The background worker.
pub struct Worker {
    commands: mpsc::Sender<Command>,
    status: watch::Receiver<SyncStatus>,
    task: tokio::task::JoinHandle<()>,
}

impl Worker {
    /// Starts the worker on the current tokio runtime. It looks for new work
    /// every `poll` (cheap: a few queries), and at once on
    /// [`Worker::sync_now`]. It needs no session: it runs while the desk is
    /// locked.
    pub fn start(desk: SharedDesk, poll: Duration) -> Worker {
        let (tx, mut rx) = mpsc::channel(8);
        let (status_tx, status_rx) = watch::channel(SyncStatus {
            connection: Connection::Syncing,
            queued: 0,
            refused: 0,
            delivered: 0,
            last_success: None,
            last_error: None,
            erasures_waiting: 0,
        });
        let task = tokio::spawn(async move {
            let mut ignore_backoff = true; // the first pass after unlock tries everything
            loop {
                status_tx.send_modify(|s| s.connection = Connection::Syncing);
                let options = PassOptions {
                    ignore_backoff,
                    ..PassOptions::default()
                };
                // A pass runs as a task of its own, so that even a fault
                // in it (a panic) leaves the worker alive to say so and to
                // try again.
                let pass = {
                    let desk = desk.clone();
                    tokio::spawn(async move { run_pass(&desk, options).await })
                        .await
                        .unwrap_or_else(|e| {
                            tracing::error!("a sync pass failed: {e}");
                            Err(SyncError::Internal(
                                "an upload pass hit an internal fault; it will be tried again"
                                    .into(),
                            ))
                        })
                };
                let status = match pass {
                    Ok(pass) => SyncStatus {
                        connection: if pass.reached_hub {
                            Connection::Online
                        } else {
                            Connection::Offline
                        },
                        queued: pass.outbox.waiting + pass.outbox.waiting_for_enrolment,
                        refused: pass.outbox.refused,
                        delivered: pass.outbox.delivered,
                        last_success: pass.outbox.last_delivered_at,
                        last_error: pass
                            .errors
                            .first()
                            .cloned()
                            .or(pass.outbox.last_error.clone()),
                        erasures_waiting: pass.outbox.erasures_waiting,
                    },
                    Err(SyncError::NotEnrolled) => SyncStatus {
                        connection: Connection::NotEnrolled,
                        ..status_tx.borrow().clone()
                    },
                    Err(e) => SyncStatus {
                        connection: Connection::Offline,
                        last_error: Some(e.to_string()),
                        ..status_tx.borrow().clone()
                    },
                };
                let _ = status_tx.send(status);
                ignore_backoff = false;
                tokio::select! {
                    command = rx.recv() => match command {
                        Some(Command::SyncNow) => ignore_backoff = true,
                        Some(Command::Stop) | None => break,
                    },
                    () = tokio::time::sleep(poll) => {}
                }
            }
        });
        Worker {
            commands: tx,
            status: status_rx,
            task,
        }
    }

    /// Runs a pass now, ignoring backoff.
    pub fn sync_now(&self) {
        let _ = self.commands.try_send(Command::SyncNow);
    }

    /// The published status, updated after every pass.
    pub fn status(&self) -> watch::Receiver<SyncStatus> {
        self.status.clone()
    }

    /// Stops the worker, waiting up to `timeout` for a pass in progress.
    pub async fn stop(self, timeout: Duration) {
        let _ = self.commands.send(Command::Stop).await;
        let _ = tokio::time::timeout(timeout, self.task).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_with_full_jitter_and_a_cap() {
        for attempts in 0..40 {
            let d = backoff(attempts);
            assert!(
                d >= Duration::from_secs(1) && d <= BACKOFF_CAP,
                "{attempts}: {d:?}"
            );
        }
        let late: Vec<Duration> = (0..200).map(|_| backoff(12)).collect();
        assert!(
            late.iter().any(|d| *d > Duration::from_secs(300)),
            "late attempts can wait minutes"
        );
        assert!(
            late.iter().any(|d| *d < Duration::from_secs(300)),
            "jitter spreads them"
        );
    }
}
