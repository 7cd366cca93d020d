//! The audit log: who did what at this desk, and when. Never what a report
//! says.
//!
//! Entries are append-only (SQL triggers refuse updates and deletes) and
//! hash-chained: each entry's hash covers its fields and the previous hash,
//! so editing, removing or reordering an entry anywhere but at the very end
//! breaks the chain, which [`verify`] finds. The chain cannot stop someone
//! who can write the file from rewriting it wholesale; `hirc audit verify`
//! prints the head hash so a coordinator can note it elsewhere and compare.

use rusqlite::{Connection, OptionalExtension, params};
use serde::Serialize;
use sha2::{Digest, Sha256};

use crate::error::Result;

/// The hash before the first entry.
const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// What an entry records.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditAction {
    /// The desk was set up.
    DeskCreated,
    /// A user unlocked the desk.
    UnlockOk,
    /// A wrong passphrase, unknown user name or wrong recovery code.
    UnlockFailed,
    /// A draft was started.
    DraftCreated,
    /// A draft was saved again.
    DraftEdited,
    /// A draft was deleted.
    DraftDeleted,
    /// A report was validated, sealed and queued.
    Submitted,
    /// A user was added.
    UserAdded,
    /// A user was removed.
    UserRemoved,
    /// A passphrase was changed or reset.
    PassphraseChanged,
    /// The recovery code was used to set a coordinator's passphrase.
    Recovered,
    /// Something left the desk (summaries, outbox files).
    Export,
    /// The desk was enrolled with a hub.
    Enrolled,
    /// The hub's receipt for a report was stored.
    Delivered,
    /// The hub refused a report for good (it will not be retried).
    UploadRefused,
    /// A report's personal data were deleted after the retention period.
    Purged,
    /// A desk setting was changed.
    SettingChanged,
    /// A report that would not open was set aside (or, tried again, came
    /// back into use).
    SetAside,
    /// A set-aside report was discarded by a coordinator.
    Discarded,
    /// A submitted report was found by its reference and its page opened.
    ReportOpened,
    /// Word from the partnership on a report arrived (a signed status).
    StatusReceived,
    /// A report was erased at the person's request.
    Erased,
    /// The hub confirmed it erased its copy of a report (a signed receipt).
    ErasureConfirmed,
    /// A coordinator had an erasure sent to the hub again (after the hub
    /// was restored from a backup older than the erasure).
    ErasureResent,
    /// A file was added to a report as evidence.
    EvidenceAdded,
    /// A file was removed from a report being written.
    EvidenceRemoved,
    /// Evidence of a submitted report was opened.
    EvidenceOpened,
}

impl AuditAction {
    /// The word stored and shown.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::DeskCreated => "desk_created",
            Self::UnlockOk => "unlock_ok",
            Self::UnlockFailed => "unlock_failed",
            Self::DraftCreated => "draft_created",
            Self::DraftEdited => "draft_edited",
            Self::DraftDeleted => "draft_deleted",
            Self::Submitted => "submitted",
            Self::UserAdded => "user_added",
            Self::UserRemoved => "user_removed",
            Self::PassphraseChanged => "passphrase_changed",
            Self::Recovered => "recovered",
            Self::Export => "export",
            Self::Enrolled => "enrolled",
            Self::Delivered => "delivered",
            Self::UploadRefused => "upload_refused",
            Self::Purged => "purged",
            Self::SettingChanged => "setting_changed",
            Self::SetAside => "set_aside",
            Self::Discarded => "discarded",
            Self::ReportOpened => "report_opened",
            Self::StatusReceived => "status_received",
            Self::Erased => "erased",
            Self::ErasureConfirmed => "erasure_confirmed",
            Self::ErasureResent => "erasure_resent",
            Self::EvidenceAdded => "evidence_added",
            Self::EvidenceRemoved => "evidence_removed",
            Self::EvidenceOpened => "evidence_opened",
        }
    }
}

/// One entry as stored.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AuditEntry {
    /// Position in the log, from 1.
    pub seq: i64,
    /// When (RFC 3339, UTC).
    pub at: String,
    /// Who (a user name), if anyone.
    pub actor: Option<String>,
    /// What (an [`AuditAction`] word).
    pub action: String,
    /// What it was done to: a report id or a user name.
    pub subject: Option<String>,
    /// A little more, never content.
    pub detail: Option<String>,
    /// The previous entry's hash.
    pub prev_hash: String,
    /// This entry's hash.
    pub hash: String,
}

/// A good chain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditVerified {
    /// How many entries.
    pub entries: i64,
    /// The last entry's hash.
    pub head: String,
}

/// Where the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the audit log is damaged at entry {seq}: {reason}")]
pub struct AuditBroken {
    /// The first entry that does not check out.
    pub seq: i64,
    /// Why.
    pub reason: &'static str,
}

/// Appends an entry; call inside the transaction of the change it records.
pub(crate) fn append(
    conn: &Connection,
    actor: Option<&str>,
    action: AuditAction,
    subject: Option<&str>,
    detail: Option<&str>,
) -> Result<()> {
    let last: Option<(i64, String)> = conn
        .prepare_cached("SELECT seq, hash FROM audit ORDER BY seq DESC LIMIT 1")?
        .query_row([], |r| Ok((r.get(0)?, r.get(1)?)))
        .optional()?;
    let (seq, prev) = match last {
        Some((seq, hash)) => (seq + 1, hash),
        None => (1, GENESIS.to_string()),
    };
    let at = crate::time::now_text();
    let hash = entry_hash(&prev, seq, &at, actor, action.as_str(), subject, detail);
    conn.prepare_cached(
        "INSERT INTO audit (seq, at, actor, action, subject, detail, prev_hash, hash)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    )?
    .execute(params![
        seq,
        at,
        actor,
        action.as_str(),
        subject,
        detail,
        prev,
        hash
    ])?;
    Ok(())
}

/// Every entry, oldest first.
pub(crate) fn entries(conn: &Connection) -> Result<Vec<AuditEntry>> {
    let mut stmt = conn.prepare(
        "SELECT seq, at, actor, action, subject, detail, prev_hash, hash FROM audit ORDER BY seq",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok(AuditEntry {
            seq: r.get(0)?,
            at: r.get(1)?,
            actor: r.get(2)?,
            action: r.get(3)?,
            subject: r.get(4)?,
            detail: r.get(5)?,
            prev_hash: r.get(6)?,
            hash: r.get(7)?,
        })
    })?;
    Ok(rows.collect::<Result<_, _>>()?)
}

/// Checks the whole chain.
pub fn verify(entries: &[AuditEntry]) -> Result<AuditVerified, AuditBroken> {
    let mut prev = GENESIS.to_string();
    for (i, e) in entries.iter().enumerate() {
        let expected_seq = i as i64 + 1;
        if e.seq != expected_seq {
            return Err(AuditBroken {
                seq: expected_seq,
                reason: "an entry is missing",
            });
        }
        if e.prev_hash != prev {
            return Err(AuditBroken {
                seq: e.seq,
                reason: "it does not follow the entry before it (an entry was removed or reordered)",
            });
        }
        let hash = entry_hash(
            &e.prev_hash,
            e.seq,
            &e.at,
            e.actor.as_deref(),
            &e.action,
            e.subject.as_deref(),
            e.detail.as_deref(),
        );
        if hash != e.hash {
            return Err(AuditBroken {
                seq: e.seq,
                reason: "its contents were changed after it was written",
            });
        }
        prev = hash;
    }
    Ok(AuditVerified {
        entries: entries.len() as i64,
        head: prev,
    })
}

/// SHA-256 over the fields, each length-prefixed so no two different entries
/// can encode the same bytes.
fn entry_hash(
    prev: &str,
    seq: i64,
    at: &str,
    actor: Option<&str>,
    action: &str,
    subject: Option<&str>,
    detail: Option<&str>,
) -> String {
    let mut h = Sha256::new();
    h.update(b"hirc-audit-v1");
    let seq_text = seq.to_string();
    for field in [
        Some(prev),
        Some(seq_text.as_str()),
        Some(at),
        actor,
        Some(action),
        subject,
        detail,
    ] {
        match field {
            Some(v) => {
                h.update([1u8]);
                h.update((v.len() as u64).to_be_bytes());
                h.update(v.as_bytes());
            }
            None => h.update([0u8]),
        }
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn log_of(n: usize) -> Connection {
        let conn = crate::store::open_in_memory().expect("store");
        for i in 0..n {
            append(
                &conn,
                Some("ann"),
                AuditAction::DraftEdited,
                Some(&format!("r{i}")),
                None,
            )
            .expect("append");
        }
        conn
    }

    #[test]
    fn a_fresh_chain_verifies() {
        let conn = log_of(5);
        let v = verify(&entries(&conn).expect("entries")).expect("intact");
        assert_eq!(v.entries, 5);
        assert_eq!(v.head.len(), 64);
    }

    #[test]
    fn sql_cannot_change_or_delete_entries() {
        let conn = log_of(2);
        assert!(conn.execute("UPDATE audit SET actor = 'eve'", []).is_err());
        assert!(conn.execute("DELETE FROM audit", []).is_err());
    }

    #[test]
    fn tampering_is_detected_where_it_happened() {
        let conn = log_of(5);
        let good = entries(&conn).expect("entries");

        let mut edited = good.clone();
        edited[2].actor = Some("eve".into());
        assert_eq!(verify(&edited).expect_err("edited").seq, 3);

        let mut removed = good.clone();
        removed.remove(1);
        assert_eq!(verify(&removed).expect_err("removed").seq, 2);

        let mut renumbered: Vec<AuditEntry> = good.clone();
        renumbered.remove(1);
        for (i, e) in renumbered.iter_mut().enumerate() {
            e.seq = i as i64 + 1;
        }
        let broken = verify(&renumbered).expect_err("renumbered");
        assert_eq!(broken.seq, 2);

        let mut swapped = good.clone();
        swapped.swap(3, 4);
        assert!(verify(&swapped).is_err());

        let mut rehashed = good;
        rehashed[4].detail = Some("x".into());
        assert_eq!(verify(&rehashed).expect_err("changed").seq, 5);
    }
}
