//! Evidence in the embedded store (see migrations/0005_evidence.sql).

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, TransactionBehavior, params};
use uuid::Uuid;

use super::Sqlite;
use super::erasures::{desk_of, held_tombstone};
use crate::store::{
    ChunkPut, EvidenceChunk, HELD_EVIDENCE_COLUMNS, HeldEvidence, Result, SWEPT_AT_ONCE, Swept,
    UNNAMED_IDLE_SQL, held_evidence, text,
};

fn held(
    conn: &rusqlite::Connection,
    desk: &str,
    evidence_id: Uuid,
) -> Result<Option<HeldEvidence>> {
    conn.prepare_cached(&format!(
        "SELECT {HELD_EVIDENCE_COLUMNS} FROM evidence WHERE desk = ?1 AND id = ?2"
    ))?
    .query_row(params![desk, evidence_id.to_string()], |r| {
        Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?, r.get(4)?))
    })
    .optional()?
    .map(held_evidence)
    .transpose()
}

impl Sqlite {
    pub(super) fn evidence_held(
        &self,
        device_id: Uuid,
        evidence_id: Uuid,
    ) -> Result<Option<HeldEvidence>> {
        let conn = self.conn();
        let desk = desk_of(&conn, device_id)?;
        held(&conn, &desk, evidence_id)
    }

    pub(super) fn put_evidence_chunk(&self, c: EvidenceChunk) -> Result<ChunkPut> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let desk = desk_of(&tx, c.device_id)?;
        if let Some(gone) = held_tombstone(&tx, &desk, c.report_id)? {
            return Ok(ChunkPut::Erased(gone));
        }
        let held = match held(&tx, &desk, c.evidence_id)? {
            None if c.offset != 0 => return Ok(ChunkPut::NotAt(None)),
            None => {
                tx.execute(
                    "INSERT INTO evidence (desk, id, report_id, device_id, length, digest, started_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        desk,
                        c.evidence_id.to_string(),
                        c.report_id.to_string(),
                        c.device_id.to_string(),
                        c.length as i64,
                        c.digest,
                        text(c.now)
                    ],
                )?;
                HeldEvidence {
                    report_id: c.report_id,
                    length: c.length,
                    digest: c.digest.clone(),
                    received: 0,
                    complete: false,
                }
            }
            Some(h)
                if h.report_id != c.report_id || h.length != c.length || h.digest != c.digest =>
            {
                return Ok(ChunkPut::Conflict(h));
            }
            Some(h) if h.complete || h.received != c.offset => {
                return Ok(ChunkPut::NotAt(Some(h)));
            }
            Some(h) => h,
        };
        let metered = c.day_quota != u64::MAX;
        if metered {
            let sent_today: i64 = tx.query_row(
                "SELECT coalesce(sum(size), 0) FROM evidence_chunks
                 WHERE desk = ?1 AND metered = 1 AND received_at >= ?2",
                params![desk, text(c.now - chrono::Duration::days(1))],
                |r| r.get(0),
            )?;
            if (sent_today.max(0) as u64).saturating_add(c.bytes.len() as u64) > c.day_quota {
                return Ok(ChunkPut::OverQuota);
            }
        }
        tx.execute(
            "INSERT INTO evidence_chunks (desk, id, seq, bytes, size, received_at, metered)
             VALUES (?1, ?2, (SELECT coalesce(max(seq) + 1, 0) FROM evidence_chunks WHERE desk = ?1 AND id = ?2),
                     ?3, ?4, ?5, ?6)",
            params![
                desk,
                c.evidence_id.to_string(),
                c.bytes,
                c.bytes.len() as i64,
                text(c.now),
                metered
            ],
        )?;
        let received = held.received + c.bytes.len() as u64;
        tx.execute(
            "UPDATE evidence SET received = ?3 WHERE desk = ?1 AND id = ?2",
            params![desk, c.evidence_id.to_string(), received as i64],
        )?;
        tx.commit()?;
        Ok(ChunkPut::Stored(HeldEvidence { received, ..held }))
    }

    pub(super) fn evidence_chunk(
        &self,
        device_id: Uuid,
        evidence_id: Uuid,
        seq: u64,
    ) -> Result<Option<Vec<u8>>> {
        let conn = self.conn();
        let desk = desk_of(&conn, device_id)?;
        Ok(conn
            .prepare_cached(
                "SELECT bytes FROM evidence_chunks WHERE desk = ?1 AND id = ?2 AND seq = ?3",
            )?
            .query_row(params![desk, evidence_id.to_string(), seq as i64], |r| {
                r.get(0)
            })
            .optional()?)
    }

    pub(super) fn settle_evidence(
        &self,
        device_id: Uuid,
        evidence_id: Uuid,
        whole: bool,
    ) -> Result<()> {
        let conn = self.conn();
        let desk = desk_of(&conn, device_id)?;
        if whole {
            conn.execute(
                "UPDATE evidence SET complete = 1 WHERE desk = ?1 AND id = ?2 AND received = length",
                params![desk, evidence_id.to_string()],
            )?;
        } else {
            conn.execute(
                "DELETE FROM evidence WHERE desk = ?1 AND id = ?2 AND complete = 0",
                params![desk, evidence_id.to_string()],
            )?;
        }
        Ok(())
    }

    pub(super) fn name_evidence(
        &self,
        device_id: Uuid,
        report_id: Uuid,
        items: &[hirc_proto::EvidenceItem],
    ) -> Result<bool> {
        let mut conn = self.conn();
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let desk = desk_of(&tx, device_id)?;
        let mut items = items.to_vec();
        // In one order, whoever else locks these rows.
        items.sort_by_key(|i| i.id);
        for item in &items {
            let marked = tx
                .prepare_cached(
                    "UPDATE evidence SET named = 1
                     WHERE desk = ?1 AND id = ?2 AND report_id = ?3 AND length = ?4 AND digest = ?5
                       AND complete = 1",
                )?
                .execute(params![
                    desk,
                    item.id.to_string(),
                    report_id.to_string(),
                    i64::try_from(item.length).unwrap_or(i64::MAX),
                    item.digest
                ])?;
            if marked != 1 {
                // Dropped unfinished: none is marked.
                return Ok(false);
            }
        }
        tx.commit()?;
        Ok(true)
    }

    pub(super) fn sweep_unnamed_evidence(&self, idle_since: DateTime<Utc>) -> Result<Swept> {
        let pick = format!(
            "SELECT e.rowid, e.received FROM evidence e WHERE {} LIMIT {SWEPT_AT_ONCE}",
            UNNAMED_IDLE_SQL.replace("{idle}", "?1")
        );
        let cut = text(idle_since);
        let mut swept = Swept::default();
        loop {
            // A few at a time, letting go of the store between them.
            let mut conn = self.conn();
            let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
            let batch: Vec<(i64, i64)> = tx
                .prepare(&pick)?
                .query_map([&cut], |r| Ok((r.get(0)?, r.get(1)?)))?
                .collect::<rusqlite::Result<_>>()?;
            for (rowid, received) in &batch {
                tx.execute("DELETE FROM evidence WHERE rowid = ?1", [rowid])?;
                swept.items += 1;
                swept.bytes += u64::try_from(*received).unwrap_or_default();
            }
            tx.commit()?;
            if batch.len() < SWEPT_AT_ONCE as usize {
                if swept.items > 0 {
                    // Their pages (zeroed, secure_delete) out of the log.
                    let _ = conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)");
                }
                return Ok(swept);
            }
        }
    }
}
