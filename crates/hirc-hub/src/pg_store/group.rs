//! Group commit: uploads that arrive while a group is being committed wait
//! together and go in the next, in one transaction whose statements are
//! sent together on one connection. A receipt is issued only once its
//! group is committed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, LazyLock, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use deadpool_postgres::{GenericClient, Object, Pool};
use tokio::sync::oneshot;
use tokio_postgres::Statement;

use super::{connection, receipt_of};
use crate::store::{Put, Result, StoreError, Upload, desk_revision_sql, text};

/// The most uploads committed in one transaction.
pub(super) const MOST_PER_COMMIT: usize = 64;
/// The most uploads waiting in one hub process. Past it, an upload is
/// answered "try again later" at once: while the database is unreachable,
/// the desks' retries must not pile up in memory.
pub(super) const MOST_WAITING: usize = 1024;
/// How long one group may take, from asking for a connection to its
/// commit; past it, its uploads are answered "try again later" (a
/// connection that hangs after a failover must not hold the turn).
const GROUP_TIME: Duration = Duration::from_secs(30);

/// An upload waiting for a group, and where its outcome goes.
struct Queued {
    id: u64,
    upload: Upload,
    answer: oneshot::Sender<Result<Put>>,
}

#[derive(Default)]
struct Queue {
    last_id: u64,
    entries: Vec<Queued>,
}

/// The uploads waiting, the turn to commit them, and how many groups were
/// committed.
pub(super) struct Groups {
    pool: Pool,
    queue: Arc<Mutex<Queue>>,
    /// Held while a group is taken from the queue and committed; the
    /// group's task holds it to the end, even if the request that took the
    /// group is given up, so that groups never overlap.
    pub(super) turn: Arc<tokio::sync::Mutex<()>>,
    commits: Arc<AtomicU64>,
}

fn lock(queue: &Mutex<Queue>) -> MutexGuard<'_, Queue> {
    // Pushing and draining a vector cannot be left half done.
    queue.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Takes a request's upload out of the queue when the request is given up
/// (its desk hung up, or it ran out of time) before a group took it: it
/// would otherwise be stored later, for nobody, under an old time.
struct Unqueue<'a> {
    queue: &'a Mutex<Queue>,
    id: u64,
}

impl Drop for Unqueue<'_> {
    fn drop(&mut self) {
        lock(self.queue).entries.retain(|q| q.id != self.id);
    }
}

impl Groups {
    pub(super) fn new(pool: Pool) -> Self {
        Self {
            pool,
            queue: Arc::default(),
            turn: Arc::default(),
            commits: Arc::default(),
        }
    }

    /// Transactions that stored (or found already held) uploads.
    pub(super) fn commits(&self) -> u64 {
        self.commits.load(Ordering::Relaxed)
    }

    /// Uploads waiting now.
    #[cfg(test)]
    pub(super) fn waiting(&self) -> usize {
        lock(&self.queue).entries.len()
    }

    /// Queues the upload for the next group commit. Whoever takes the turn
    /// next commits every upload waiting (up to [`MOST_PER_COMMIT`]); an
    /// upload is taken from the queue only with the turn held, and the
    /// group is committed in a task of its own, so that it is committed and
    /// answered even if the request that took it is given up. Once this
    /// request has held the turn and found the queue empty, its upload is
    /// in a group being committed: it waits for the answer.
    pub(super) async fn put(&self, upload: Upload) -> Result<Put> {
        let (answer, mut answered) = oneshot::channel();
        let id = {
            let mut queue = lock(&self.queue);
            if queue.entries.len() >= MOST_WAITING {
                return Err(StoreError::Unavailable(
                    "too many uploads are waiting for the database".into(),
                ));
            }
            queue.last_id += 1;
            let id = queue.last_id;
            queue.entries.push(Queued { id, upload, answer });
            id
        };
        let _unqueue = Unqueue {
            queue: &self.queue,
            id,
        };
        loop {
            if let Ok(outcome) = answered.try_recv() {
                return outcome;
            }
            let turn = self.turn.clone().lock_owned().await;
            let group: Vec<Queued> = {
                let mut queue = lock(&self.queue);
                let n = queue.entries.len().min(MOST_PER_COMMIT);
                queue.entries.drain(..n).collect()
            };
            if group.is_empty() {
                break;
            }
            let (pool, commits) = (self.pool.clone(), self.commits.clone());
            let _ = tokio::spawn(async move {
                commit(pool, commits, group).await;
                drop(turn);
            })
            .await;
        }
        answered.await.unwrap_or_else(|_| {
            Err(StoreError::Stopped(
                "the upload's group commit failed".into(),
            ))
        })
    }
}

/// Commits a group and answers each of its uploads.
async fn commit(pool: Pool, commits: Arc<AtomicU64>, group: Vec<Queued>) {
    let (uploads, answers): (Vec<Upload>, Vec<_>) =
        group.into_iter().map(|q| (q.upload, q.answer)).unzip();
    let outcomes = store_group(&pool, &commits, &uploads).await;
    for (answer, outcome) in answers.into_iter().zip(outcomes) {
        let _ = answer.send(outcome);
    }
}

/// The same failure for every upload of a group.
fn every(uploads: &[Upload], why: &str) -> Vec<Result<Put>> {
    uploads
        .iter()
        .map(|_| Err(StoreError::Unavailable(why.to_string())))
        .collect()
}

/// Each upload's outcome, in order, within [`GROUP_TIME`] once it has a
/// connection. Past that time the connection, which may be in the middle
/// of a transaction or stuck on a database that went silent, is closed
/// rather than given back to the pool.
async fn store_group(pool: &Pool, commits: &AtomicU64, uploads: &[Upload]) -> Vec<Result<Put>> {
    let mut client = match connection(pool).await {
        Ok(client) => client,
        Err(e) => return every(uploads, &e.to_string()),
    };
    match tokio::time::timeout(GROUP_TIME, store_each(&mut client, commits, uploads)).await {
        Ok(outcomes) => outcomes,
        Err(_) => {
            drop(Object::take(client));
            every(
                uploads,
                &format!(
                    "the database did not answer within {} s",
                    GROUP_TIME.as_secs()
                ),
            )
        }
    }
}

/// The group in one transaction on one connection; if that fails because
/// of an upload (not the connection), each is tried alone on the same
/// connection, so that one that cannot be stored does not fail the others.
async fn store_each(
    client: &mut Object,
    commits: &AtomicU64,
    uploads: &[Upload],
) -> Vec<Result<Put>> {
    match store_all(client, uploads).await {
        Ok(outcomes) => {
            commits.fetch_add(1, Ordering::Relaxed);
            outcomes.into_iter().map(Ok).collect()
        }
        Err(e) if uploads.len() == 1 => vec![Err(e)],
        // The connection failed, not an upload: each would fail the same way.
        Err(e) if client.is_closed() => every(uploads, &e.to_string()),
        Err(_) => {
            let mut outcomes = Vec::with_capacity(uploads.len());
            for upload in uploads {
                let outcome = store_all(client, std::slice::from_ref(upload))
                    .await
                    .map(|mut one| one.remove(0));
                if outcome.is_ok() {
                    commits.fetch_add(1, Ordering::Relaxed);
                }
                outcomes.push(outcome);
            }
            outcomes
        }
    }
}

/// Inserts an upload unless this desk (any of its devices) already holds
/// the revision; atomic even with several hubs on one database.
static INSERT: LazyLock<String> = LazyLock::new(|| {
    format!(
        "WITH held AS ({})
         INSERT INTO reports (report_id, revision, device_id, digest, size, body, receipt_id, received_at, evidence)
         SELECT $1, $2::BIGINT, $3, $4, $5::BIGINT, $6::BYTEA, $7, $8, $9::TEXT
         WHERE NOT EXISTS (SELECT 1 FROM held)
           AND NOT EXISTS (SELECT 1 FROM erasures e
                           WHERE e.report_id = $1 AND e.desk = {})
         ON CONFLICT (device_id, report_id, revision) DO NOTHING",
        desk_revision_sql('$'),
        crate::store::desk_of_sql("$3")
    )
});

/// Stores the uploads in one transaction (one alone needs none).
async fn store_all(client: &mut Object, uploads: &[Upload]) -> Result<Vec<Put>> {
    // Prepared first (once per connection), so that each upload's statement
    // goes out as soon as its future is first polled.
    let insert = client.prepare_cached(&INSERT).await?;
    if let [upload] = uploads {
        return Ok(vec![store_one(&*client, &insert, upload).await?]);
    }
    let tx = client.transaction().await?;
    // Each statement is sent when its future is first polled, and
    // try_join_all polls them in order: they reach the database in the
    // group's order, so a later upload of the same revision finds the
    // earlier one held.
    let outcomes = futures_util::future::try_join_all(
        uploads.iter().map(|upload| store_one(&tx, &insert, upload)),
    )
    .await?;
    tx.commit().await?;
    Ok(outcomes)
}

async fn store_one(
    client: &impl GenericClient,
    insert: &Statement,
    upload: &Upload,
) -> Result<Put> {
    let Upload {
        device_id,
        report_id,
        revision,
        ref digest,
        ref body,
        ..
    } = *upload;
    let fresh = upload.fresh_receipt()?;
    let inserted = client
        .execute(
            insert,
            &[
                &report_id.to_string(),
                &i64::from(revision),
                &device_id.to_string(),
                digest,
                &(body.len() as i64),
                body,
                &fresh.receipt_id.to_string(),
                &text(fresh.received_at),
                &fresh.evidence,
            ],
        )
        .await?;
    if inserted == 1 {
        return Ok(Put::Created(fresh));
    }
    // Whoever did not insert reads what is held.
    let held_sql: Statement = client.prepare_cached(desk_revision_sql('$')).await?;
    let held = client
        .query_opt(
            &held_sql,
            &[
                &report_id.to_string(),
                &i64::from(revision),
                &device_id.to_string(),
                digest,
            ],
        )
        .await?;
    let Some(held) = held else {
        // Not stored and nothing held: the report was erased.
        return match super::erasures::held_tombstone(client, device_id, report_id).await? {
            Some(gone) => Ok(Put::Erased(gone)),
            None => Err(StoreError::Corrupt("a revision that vanished")),
        };
    };
    Ok(Put::for_held(receipt_of(&held)?, digest))
}
