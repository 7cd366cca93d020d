//! Evidence on PostgreSQL (see migrations/0005_evidence.sql).

use deadpool_postgres::GenericClient;
use uuid::Uuid;

use super::PgStore;
use super::erasures::held_tombstone;
use crate::store::{
    ChunkPut, EvidenceChunk, HELD_EVIDENCE_COLUMNS, HeldEvidence, Result, SWEPT_AT_ONCE, Swept,
    UNNAMED_IDLE_SQL, desk_of_sql, held_evidence, text,
};

/// How much of an item the desk `device_id` is holds.
pub(super) async fn held(
    client: &impl GenericClient,
    device_id: Uuid,
    evidence_id: Uuid,
) -> Result<Option<HeldEvidence>> {
    let row = client
        .query_opt(
            &format!(
                "SELECT {HELD_EVIDENCE_COLUMNS} FROM evidence WHERE desk = {} AND id = $2",
                desk_of_sql("$1")
            ),
            &[&device_id.to_string(), &evidence_id.to_string()],
        )
        .await?;
    row.map(|r| held_evidence((r.get(0), r.get(1), r.get(2), r.get(3), r.get(4))))
        .transpose()
}

impl PgStore {
    pub(super) async fn put_evidence_chunk_in(&self, c: EvidenceChunk) -> Result<ChunkPut> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        // The mode an upload takes: an erasure (SHARE ROW EXCLUSIVE) waits
        // for this chunk and deletes it, or this waits for the erasure and
        // finds its tombstone. The row lock below orders two chunks of one
        // item sent at once.
        tx.batch_execute("LOCK TABLE reports IN ROW EXCLUSIVE MODE")
            .await?;
        if let Some(gone) = held_tombstone(&tx, c.device_id, c.report_id).await? {
            return Ok(ChunkPut::Erased(gone));
        }
        let device = c.device_id.to_string();
        let id = c.evidence_id.to_string();
        tx.execute(
            &format!(
                "INSERT INTO evidence (desk, id, report_id, device_id, length, digest, started_at)
                 SELECT coalesce({desk}, $1), $2, $3, $1, $4, $5, $6
                 WHERE $7
                 ON CONFLICT (desk, id) DO NOTHING",
                desk = desk_of_sql("$1")
            ),
            &[
                &device,
                &id,
                &c.report_id.to_string(),
                &(c.length as i64),
                &c.digest,
                &text(c.now),
                &(c.offset == 0),
            ],
        )
        .await?;
        let row = tx
            .query_opt(
                &format!(
                    "SELECT {HELD_EVIDENCE_COLUMNS} FROM evidence WHERE desk = {} AND id = $2 FOR UPDATE",
                    desk_of_sql("$1")
                ),
                &[&device, &id],
            )
            .await?;
        let Some(row) = row else {
            return Ok(ChunkPut::NotAt(None));
        };
        let held = held_evidence((row.get(0), row.get(1), row.get(2), row.get(3), row.get(4)))?;
        if held.report_id != c.report_id || held.length != c.length || held.digest != c.digest {
            return Ok(ChunkPut::Conflict(held));
        }
        if held.complete || held.received != c.offset {
            return Ok(ChunkPut::NotAt(Some(held)));
        }
        let metered = c.day_quota != u64::MAX;
        if metered {
            // One desk's chunks are counted one at a time, whichever items
            // and hub processes they go to: otherwise several counted at
            // once would each see room for itself (the row lock above is
            // the item's only). Held until this transaction ends.
            tx.execute(
                &format!(
                    "SELECT pg_advisory_xact_lock(hashtextextended('hirc-evidence-quota:' || coalesce({}, $1), 0))",
                    desk_of_sql("$1")
                ),
                &[&device],
            )
            .await?;
            let sent_today: i64 = tx
                .query_one(
                    &format!(
                        "SELECT coalesce(sum(size), 0)::BIGINT FROM evidence_chunks
                         WHERE desk = coalesce({}, $1) AND metered AND received_at >= $2",
                        desk_of_sql("$1")
                    ),
                    &[&device, &text(c.now - chrono::Duration::days(1))],
                )
                .await?
                .get(0);
            if (sent_today.max(0) as u64).saturating_add(c.bytes.len() as u64) > c.day_quota {
                return Ok(ChunkPut::OverQuota);
            }
        }
        tx.execute(
            &format!(
                "INSERT INTO evidence_chunks (desk, id, seq, bytes, size, received_at, metered)
                 SELECT e.desk, e.id, (SELECT coalesce(max(seq) + 1, 0) FROM evidence_chunks k
                                       WHERE k.desk = e.desk AND k.id = e.id), $3, $4, $5, $6
                 FROM evidence e WHERE e.desk = {} AND e.id = $2",
                desk_of_sql("$1")
            ),
            &[
                &device,
                &id,
                &c.bytes,
                &(c.bytes.len() as i64),
                &text(c.now),
                &metered,
            ],
        )
        .await?;
        let received = held.received + c.bytes.len() as u64;
        tx.execute(
            &format!(
                "UPDATE evidence SET received = $3 WHERE desk = {} AND id = $2",
                desk_of_sql("$1")
            ),
            &[&device, &id, &(received as i64)],
        )
        .await?;
        tx.commit().await?;
        Ok(ChunkPut::Stored(HeldEvidence { received, ..held }))
    }

    pub(super) async fn evidence_chunk_in(
        &self,
        device_id: Uuid,
        evidence_id: Uuid,
        seq: u64,
    ) -> Result<Option<Vec<u8>>> {
        let row = self
            .client()
            .await?
            .query_opt(
                &format!(
                    "SELECT bytes FROM evidence_chunks WHERE desk = {} AND id = $2 AND seq = $3",
                    desk_of_sql("$1")
                ),
                &[
                    &device_id.to_string(),
                    &evidence_id.to_string(),
                    &(seq as i64),
                ],
            )
            .await?;
        Ok(row.map(|r| r.get(0)))
    }

    pub(super) async fn settle_evidence_in(
        &self,
        device_id: Uuid,
        evidence_id: Uuid,
        whole: bool,
    ) -> Result<()> {
        let sql = if whole {
            "UPDATE evidence SET complete = TRUE WHERE desk = {desk} AND id = $2 AND received = length"
        } else {
            "DELETE FROM evidence WHERE desk = {desk} AND id = $2 AND NOT complete"
        };
        self.client()
            .await?
            .execute(
                &sql.replace("{desk}", &desk_of_sql("$1")),
                &[&device_id.to_string(), &evidence_id.to_string()],
            )
            .await?;
        Ok(())
    }

    pub(super) async fn name_evidence_in(
        &self,
        device_id: Uuid,
        report_id: Uuid,
        items: &[hirc_proto::EvidenceItem],
    ) -> Result<bool> {
        let mut client = self.client().await?;
        let tx = client.transaction().await?;
        let mark = tx
            .prepare_cached(&format!(
                "UPDATE evidence SET named = TRUE
                 WHERE desk = {} AND id = $2 AND report_id = $3 AND length = $4 AND digest = $5
                   AND complete",
                desk_of_sql("$1")
            ))
            .await?;
        let mut items = items.to_vec();
        // In one order, whoever else locks these rows.
        items.sort_by_key(|i| i.id);
        for item in &items {
            let marked = tx
                .execute(
                    &mark,
                    &[
                        &device_id.to_string(),
                        &item.id.to_string(),
                        &report_id.to_string(),
                        &i64::try_from(item.length).unwrap_or(i64::MAX),
                        &item.digest,
                    ],
                )
                .await?;
            if marked != 1 {
                // Dropped unfinished: none is marked.
                return Ok(false);
            }
        }
        tx.commit().await?;
        Ok(true)
    }

    pub(super) async fn sweep_unnamed_evidence_in(
        &self,
        idle_since: chrono::DateTime<chrono::Utc>,
    ) -> Result<Swept> {
        let client = self.client().await?;
        let sweep = client
            .prepare_cached(&format!(
                "WITH gone AS (
                     DELETE FROM evidence WHERE (desk, id) IN (
                         SELECT e.desk, e.id FROM evidence e WHERE {} LIMIT {SWEPT_AT_ONCE}
                         FOR UPDATE SKIP LOCKED)
                     RETURNING received)
                 SELECT count(*), coalesce(sum(received), 0)::BIGINT FROM gone",
                UNNAMED_IDLE_SQL.replace("{idle}", "$1")
            ))
            .await?;
        let cut = text(idle_since);
        let mut swept = Swept::default();
        loop {
            // A few at a time, each its own statement (and transaction).
            let row = client.query_one(&sweep, &[&cut]).await?;
            let (items, bytes): (i64, i64) = (row.get(0), row.get(1));
            swept.items += u64::try_from(items).unwrap_or_default();
            swept.bytes += u64::try_from(bytes).unwrap_or_default();
            if items < SWEPT_AT_ONCE {
                return Ok(swept);
            }
        }
    }
}
