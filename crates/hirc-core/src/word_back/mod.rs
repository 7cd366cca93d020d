//! Word back from the partnership: where it says a report stands
//! (received, reviewed, passed to the police, closed, with a short note),
//! set at the hub with the partnership's key, encrypted to this desk's
//! status key so the hub cannot read it, and signed with the hub's receipt
//! key. The sync worker registers the key and fetches statuses with nobody
//! signed in; they open on the report's page, and Home lists the reports
//! with news since the user last signed in.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::Serialize;
use uuid::Uuid;
use zeroize::Zeroizing;

use hirc_proto::{StatusNotice, StatusPlain, StatusState};

use crate::audit::{self, AuditAction};
use crate::columns::{Columns, TextId};
use crate::desk::{Desk, Session};
use crate::error::{Error, Result};
use crate::time;
use crate::vault::encrypt_to;

/// The most a status's ciphertext may be: a short note in a few
/// kilobytes. Anything larger is not kept.
const MAX_STATUS_BYTES: usize = 16 * 1024;

/// What the partnership said about a report.
#[cfg_attr(feature = "bindings", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PartnershipStatus {
    /// Where it stands: `received`, `reviewed`, `passed_to_police`, `closed`.
    pub state: String,
    /// Their note, if any.
    pub note: Option<String>,
    /// When they set it.
    #[serde(serialize_with = "time::as_text")]
    #[cfg_attr(feature = "bindings", specta(type = String))]
    pub set_at: DateTime<Utc>,
    /// When this desk received it.
    #[serde(serialize_with = "time::as_text")]
    #[cfg_attr(feature = "bindings", specta(type = String))]
    pub received_at: DateTime<Utc>,
}

/// A report with word from the partnership since the user last signed in.
#[cfg_attr(feature = "bindings", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct News {
    /// The report's reference.
    pub reference: String,
    /// Its latest status.
    pub state: String,
    /// When that arrived.
    #[serde(serialize_with = "time::as_text")]
    #[cfg_attr(feature = "bindings", specta(type = String))]
    pub received_at: DateTime<Utc>,
}

impl Desk {
    /// The status key's public half, if the hub has not been given it yet
    /// (made now if the desk has none). `None`: not enrolled, or
    /// registered. No unlock needed.
    pub fn status_key_to_register(&mut self) -> Result<Option<String>> {
        let registered: Option<bool> = self
            .db()
            .query_row("SELECT status_key_registered FROM hub", [], |r| r.get(0))
            .optional()?;
        if registered != Some(false) {
            return Ok(None);
        }
        let recipient: Option<String> =
            self.db()
                .query_row("SELECT status_recipient FROM desk", [], |r| r.get(0))?;
        if let Some(recipient) = recipient {
            return Ok(Some(recipient));
        }
        // Made without the desk key's secret: the secret is encrypted to
        // its public half, so only a signed-in user can open it.
        let identity = age::x25519::Identity::generate();
        let recipient = identity.to_public().to_string();
        let desk: age::x25519::Recipient = self
            .info()
            .recipient
            .parse()
            .map_err(|_| Error::Integrity("the desk's public key is not a key"))?;
        let secret = {
            use age::secrecy::ExposeSecret as _;
            Zeroizing::new(identity.to_string().expose_secret().to_owned())
        };
        let sealed = encrypt_to(&desk, secret.as_bytes())?;
        self.write(|tx| {
            tx.execute(
                "UPDATE desk SET status_key = ?1, status_recipient = ?2 WHERE status_recipient IS NULL",
                params![sealed, recipient],
            )?;
            Ok(())
        })?;
        let kept: String = self
            .db()
            .query_row("SELECT status_recipient FROM desk", [], |r| r.get(0))?;
        Ok(Some(kept))
    }

    /// The hub has the status key. No unlock needed.
    pub fn status_key_registered(&mut self) -> Result<()> {
        self.write(|tx| {
            tx.execute("UPDATE hub SET status_key_registered = 1", [])?;
            Ok(())
        })
    }

    /// How far this desk has read the hub's statuses, in its sequence (0:
    /// not at all).
    pub fn statuses_after(&self) -> Result<i64> {
        Ok(self
            .db()
            .query_row("SELECT status_seq FROM hub", [], |r| r.get(0))
            .optional()?
            .unwrap_or(0))
    }

    /// Keeps the statuses fetched from the hub whose signature checks
    /// under the pinned receipt key and that are about a report this desk
    /// sent; returns how many are new. The rest are skipped (and logged,
    /// without content). No unlock needed: they stay ciphertext.
    pub fn record_statuses(&mut self, notices: &[StatusNotice]) -> Result<usize> {
        let Some(key) = self.hub()?.and_then(|l| l.receipt_key) else {
            return Ok(0);
        };
        let now = self.now_text();
        let mut kept = 0;
        for n in notices {
            if hirc_proto::sign::verify_status(&key, n).is_err() {
                tracing::warn!(status = %n.status_id, "a status from the hub was not signed by its receipt key; skipped");
                continue;
            }
            let ours: bool = self.db().query_row(
                "SELECT EXISTS (SELECT 1 FROM reports WHERE id = ?1 AND reference IS NOT NULL)",
                [n.report_id.to_string()],
                |r| r.get(0),
            )?;
            let body = STANDARD
                .decode(&n.body)
                .ok()
                .filter(|b| b.len() <= MAX_STATUS_BYTES);
            let (true, Some(body)) = (ours, body) else {
                tracing::warn!(status = %n.status_id, "a status from the hub is for no report of this desk, or malformed; skipped");
                continue;
            };
            let set_at = time::to_text(n.set_at);
            let added = self.write(|tx| {
                let added = tx.execute(
                    "INSERT OR IGNORE INTO statuses (status_id, seq, report_id, body, set_at, received_at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
                    params![n.status_id.to_string(), n.seq, n.report_id.to_string(), body, set_at, now],
                )?;
                if added == 1 {
                    audit::append(
                        tx,
                        None,
                        AuditAction::StatusReceived,
                        Some(&n.report_id.to_string()),
                        Some(&n.status_id.to_string()),
                    )?;
                }
                Ok(added)
            })?;
            kept += added;
        }
        // Read this far, kept or skipped: a status skipped is not asked for
        // again on every pass.
        if let Some(last) = notices.iter().map(|n| n.seq).max() {
            self.write(|tx| {
                tx.execute("UPDATE hub SET status_seq = max(status_seq, ?1)", [last])?;
                Ok(())
            })?;
        }
        Ok(kept)
    }

    /// What the partnership has said about a report, oldest first, opened
    /// with the status key. A status that does not open, or that names
    /// another report, is left out (and logged, without content).
    pub fn statuses_of(&self, s: &Session, report_id: Uuid) -> Result<Vec<PartnershipStatus>> {
        self.check_session(s)?;
        let reference = self.row(report_id)?.reference;
        let mut stmt = self.db().prepare_cached(
            "SELECT status_id, body, received_at FROM statuses WHERE report_id = ?1 ORDER BY set_at, seq",
        )?;
        let rows: Vec<(TextId, Vec<u8>, DateTime<Utc>)> = stmt
            .query_map([report_id.to_string()], |r| {
                Ok((r.get(0)?, r.get(1)?, r.time(2)?))
            })?
            .collect::<rusqlite::Result<_>>()?;
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let identity = self.status_identity(s)?;
        let mut out = Vec::new();
        for (TextId(status_id), body, received_at) in rows {
            let opened = identity
                .as_ref()
                .and_then(|i| age::decrypt(i, &body).ok())
                .and_then(|plain| serde_json::from_slice::<StatusPlain>(&plain).ok())
                .filter(|p| {
                    p.status_id == status_id
                        && p.report_id == report_id
                        && Some(p.reference.as_str()) == reference.as_deref()
                });
            let Some(p) = opened else {
                tracing::warn!(status = %status_id, "a status does not open with this desk's status key; left out");
                continue;
            };
            out.push(PartnershipStatus {
                state: p.state.as_str().to_owned(),
                note: p.note,
                set_at: p.set_at,
                received_at,
            });
        }
        Ok(out)
    }

    /// The reports with word from the partnership since this user last
    /// signed in (before this session), newest first.
    pub fn news(&self, s: &Session) -> Result<Vec<News>> {
        self.check_session(s)?;
        let since: Option<String> = self
            .db()
            .query_row(
                "SELECT at FROM audit WHERE action = 'unlock_ok' AND actor = ?1 ORDER BY seq DESC LIMIT 1 OFFSET 1",
                [&s.user().name],
                |r| r.get(0),
            )
            .optional()?;
        let since = since.unwrap_or_default();
        let mut stmt = self
            .db()
            .prepare("SELECT DISTINCT report_id FROM statuses WHERE received_at > ?1")?;
        let ids: Vec<TextId> = stmt
            .query_map([since], |r| r.get(0))?
            .collect::<rusqlite::Result<_>>()?;
        let mut out = Vec::new();
        for TextId(id) in ids {
            let Some(reference) = self.row(id)?.reference else {
                continue;
            };
            if let Some(latest) = self
                .statuses_of(s, id)?
                .into_iter()
                .max_by_key(|p| p.received_at)
            {
                out.push(News {
                    reference,
                    state: latest.state,
                    received_at: latest.received_at,
                });
            }
        }
        out.sort_by_key(|n| std::cmp::Reverse(n.received_at));
        Ok(out)
    }

    fn status_identity(&self, s: &Session) -> Result<Option<age::x25519::Identity>> {
        let sealed: Option<Vec<u8>> =
            self.db()
                .query_row("SELECT status_key FROM desk", [], |r| r.get(0))?;
        let Some(sealed) = sealed else {
            return Ok(None);
        };
        let plain = Zeroizing::new(
            age::decrypt(s.keys.identity(), &sealed)
                .map_err(|_| Error::Integrity("the status key does not open with the desk key"))?,
        );
        std::str::from_utf8(&plain)
            .ok()
            .and_then(|t| t.parse().ok())
            .map(Some)
            .ok_or(Error::Integrity("the status key is not a key"))
    }
}

/// The words a status's state is shown in, in English.
pub fn state_label(state: StatusState) -> &'static str {
    match state {
        StatusState::Received => "Received by the partnership",
        StatusState::Reviewed => "Reviewed",
        StatusState::PassedToPolice => "Passed to the police",
        StatusState::Closed => "Closed",
    }
}

#[cfg(test)]
mod tests;
