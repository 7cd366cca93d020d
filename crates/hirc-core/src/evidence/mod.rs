//! Evidence: photos, screenshots and documents added to a report being
//! written (see migrations/0008_evidence.sql for how they are kept).
//!
//! What is accepted is decided by the file's first bytes (`sniff`), never
//! its name. Images are decoded and encoded again before anything is stored
//! (`strip`), so nothing but their pixels is kept. Every byte is then
//! encrypted to the desk key as it streams past, as one age stream stored in
//! pieces (`pieces`), inside one transaction: all of a file or none. The
//! file's own name is never stored; the ambassador's caption is, encrypted.
//!
//! Not yet sent to the hub: delivery with the report's revision (chunked,
//! resumable uploads) is the next step of issue 17, and until it exists
//! nothing outside the engine adds evidence.

mod for_hub;
mod pieces;
mod sniff;
mod strip;
#[cfg(test)]
mod tests;
mod thumbnail;

use std::io::{Read, Write};

use chrono::{DateTime, Utc};
use rusqlite::{OptionalExtension, params};
use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::Zeroizing;

pub(crate) use self::for_hub::{
    EvidenceEntry, deleting_delivered_copies, drop_copies, keep_named_copies, manifest_of,
    settle_copies,
};
pub use self::sniff::Kind;
use self::sniff::{SNIFF_LEN, Sniffed, TextCheck};
use crate::audit::{self, AuditAction};
use crate::desk::{Desk, Session};
use crate::error::{Error, Result};
use crate::model::ReportState;
use crate::time;

/// One item of evidence, as listed (never its content).
#[cfg_attr(feature = "bindings", derive(specta::Type))]
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Evidence {
    /// Its id.
    pub id: Uuid,
    /// The report it belongs to.
    pub report_id: Uuid,
    /// The revision it was sealed in (0 while in a draft).
    pub revision: u32,
    /// What it is kept as.
    pub kind: Kind,
    /// Its size as kept (after stripping), in bytes.
    pub size: u64,
    /// The ambassador's caption, if any.
    pub caption: Option<String>,
    /// When it was added.
    #[serde(serialize_with = "time::as_text")]
    #[cfg_attr(feature = "bindings", specta(type = String))]
    pub added_at: DateTime<Utc>,
}

/// How much evidence a report may carry; a coordinator sets both.
#[cfg_attr(feature = "bindings", derive(specta::Type))]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct EvidenceLimits {
    /// The largest file, in MiB.
    pub file_mib: u32,
    /// The most evidence on one report, in MiB.
    pub report_mib: u32,
}

/// The rows of the items a report holds (`?1`: its id), and those of the
/// follow-up being drafted for it, `e` and `r` being the item's and its
/// report's rows: what a copy for the person lists.
pub(crate) const HELD_FOR_REPORT: &str = "FROM evidence e JOIN reports r ON r.id = e.report_id
     WHERE r.id = ?1 OR (r.follows = ?1 AND r.state = 'draft')";

impl Default for EvidenceLimits {
    /// Sized for phone photos (3-8 MiB each from a 12-megapixel camera) and
    /// a few screenshots or scanned letters.
    fn default() -> Self {
        Self {
            file_mib: 25,
            report_mib: 100,
        }
    }
}

const MIB: u64 = 1024 * 1024;
const FILE_MIB_KEY: &str = "evidence_file_mib";
const REPORT_MIB_KEY: &str = "evidence_report_mib";
/// The most a coordinator may allow, per file or per report.
const MOST_MIB: u32 = 2048;
/// The most items one draft (so one revision) may carry: the hub is told
/// them in one header, which proxies cap at 8 KiB.
pub const MOST_ITEMS: usize = 50;
/// A caption is a short note, not a statement.
const CAPTION_MAX_CHARS: usize = 500;
/// Read from the file at a time (and encrypted as it comes).
const READ_BYTES: usize = 64 * 1024;
/// The first line of every item's plaintext: what it is and which item, so
/// that ciphertext moved onto another item's row does not open as it.
const HEADER: &str = "hirc-evidence/1";

/// An item as its clear row names it.
struct Item {
    row: crate::desk::ReportRow,
    revision: i64,
    kind: Kind,
}

/// The caption as kept: bound to its item the same way.
#[derive(Serialize, Deserialize)]
struct Label {
    evidence_id: Uuid,
    caption: Option<String>,
}

impl Desk {
    /// How much evidence a report may carry.
    pub fn evidence_limits(&self) -> Result<EvidenceLimits> {
        let d = EvidenceLimits::default();
        Ok(EvidenceLimits {
            file_mib: self.number_setting(FILE_MIB_KEY, d.file_mib, "the evidence file limit")?,
            report_mib: self.number_setting(
                REPORT_MIB_KEY,
                d.report_mib,
                "the evidence report limit",
            )?,
        })
    }

    /// Sets how much evidence a report may carry (coordinators; audited).
    pub fn set_evidence_limits(&mut self, s: &Session, limits: EvidenceLimits) -> Result<()> {
        let check = |what: &'static str| {
            move |mib: u32| {
                if (1..=MOST_MIB).contains(&mib) {
                    Ok(())
                } else {
                    Err(Error::InvalidInput(format!(
                        "{what} must be from 1 to {MOST_MIB} MiB"
                    )))
                }
            }
        };
        let action = "setting how much evidence a report may carry";
        // Both judged before either is written, so none is half applied.
        self.check_session(s)?;
        crate::desk::require_coordinator(s, action)?;
        check("the largest file")(limits.file_mib)?;
        check("the most evidence on one report")(limits.report_mib)?;
        if limits.file_mib > limits.report_mib {
            return Err(Error::InvalidInput(
                "the largest file cannot be larger than the most evidence on one report".into(),
            ));
        }
        self.set_number_setting(
            s,
            FILE_MIB_KEY,
            limits.file_mib,
            action,
            check("the largest file"),
        )?;
        self.set_number_setting(
            s,
            REPORT_MIB_KEY,
            limits.report_mib,
            action,
            check("the most evidence on one report"),
        )
    }

    /// Adds a file to the draft `draft` (its owner or a coordinator;
    /// audited), read from `file`: sniffed, stripped if an image, and
    /// stored encrypted, all of it or nothing. `caption` is the
    /// ambassador's note; the file's name is never kept.
    pub fn add_evidence(
        &mut self,
        s: &Session,
        draft: Uuid,
        mut file: impl Read,
        caption: Option<&str>,
    ) -> Result<Evidence> {
        self.check_session(s)?;
        let row = self.row(draft)?;
        self.check_may_touch(s, &row)?;
        crate::desk::require_state(&row, ReportState::Draft, "given evidence")?;
        let caption = tidy_caption(caption)?;
        let too_many = || {
            refused(
                "evidence_too_many",
                format!(
                    "a report takes at most {MOST_ITEMS} files at a time: put several screenshots into one PDF, or add more in a follow-up once this is sent"
                ),
            )
        };
        if items_on_draft(self.db(), draft)? >= MOST_ITEMS {
            return Err(too_many());
        }
        let limits = self.evidence_limits()?;
        let held = held_on_report(self.db(), draft)?;
        let file_max = u64::from(limits.file_mib) * MIB;
        let room = (u64::from(limits.report_mib) * MIB).saturating_sub(held);
        let most = file_max.min(room);
        let too_large = |limits: EvidenceLimits| {
            if room < file_max {
                refused(
                    "evidence_report_full",
                    format!(
                        "this report already carries as much evidence as it may ({} MiB in all; a coordinator can change it in Settings)",
                        limits.report_mib
                    ),
                )
            } else {
                refused(
                    "evidence_file_too_large",
                    format!(
                        "this file is larger than the largest allowed ({} MiB; a coordinator can change it in Settings)",
                        limits.file_mib
                    ),
                )
            }
        };

        let mut head = Vec::with_capacity(SNIFF_LEN);
        (&mut file)
            .take(SNIFF_LEN as u64)
            .read_to_end(&mut head)
            .map_err(|e| Error::io("reading the file", e))?;
        let sniffed = sniff::sniff(&head)?;
        // An image is decoded whole (its pixels are what is kept), so it is
        // read whole, up to the limit; anything else streams through.
        let (kind, image) = match sniffed {
            Sniffed::Jpeg | Sniffed::Png | Sniffed::Webp => {
                let cap = most.min(strip::MOST_IMAGE_FILE_BYTES);
                let mut bytes = Zeroizing::new(Vec::with_capacity(cap.min(8 * MIB) as usize));
                bytes.extend_from_slice(&head);
                (&mut file)
                    .take((cap + 1).saturating_sub(head.len() as u64))
                    .read_to_end(&mut bytes)
                    .map_err(|e| Error::io("reading the file", e))?;
                if bytes.len() as u64 > cap {
                    return Err(if cap < most {
                        refused(
                            "evidence_picture_too_large",
                            format!(
                                "a picture file is at most {} MiB: take a screenshot of it, or ask the person for a smaller copy",
                                strip::MOST_IMAGE_FILE_BYTES / MIB
                            ),
                        )
                    } else {
                        too_large(limits)
                    });
                }
                let (kind, stripped) = strip::strip_image(sniffed, &bytes)?;
                // Encoded again, a picture may grow (a small palette PNG
                // kept as colour): the limits hold for what is kept.
                if stripped.len() as u64 > most {
                    return Err(refused(
                        "evidence_file_too_large",
                        format!(
                            "this picture is larger than allowed once its details are removed ({} MiB kept; a coordinator can change the limits in Settings)",
                            stripped.len() as u64 / MIB + 1
                        ),
                    ));
                }
                (kind, Some(Zeroizing::new(stripped)))
            }
            Sniffed::Pdf => (Kind::Pdf, None),
            Sniffed::Text => (Kind::Text, None),
        };

        let id = Uuid::now_v7();
        let report = final_report(self.db(), draft)?;
        let header = header(id, report, kind);
        let added_at = self.now_stored();
        let label = crate::vault::encrypt_to(
            s.keys.recipient(),
            &serde_json::to_vec(&Label {
                evidence_id: id,
                caption: caption.clone(),
            })
            .map_err(|_| Error::Integrity("a caption does not serialise"))?,
        )?;
        let recipient = s.keys.recipient().clone();
        let user = s.user().clone();
        let size = self.write(|tx| {
            // Checked again under the write lock: another process (the
            // app and the command line) may have submitted the draft since.
            let added = tx.execute(
                "INSERT INTO evidence (id, report_id, kind, size, label, added_at, added_by)
                 SELECT ?1, ?2, ?3, 0, ?4, ?5, ?6
                 WHERE EXISTS (SELECT 1 FROM reports WHERE id = ?2 AND state = 'draft')",
                params![
                    id.to_string(),
                    draft.to_string(),
                    kind.as_str(),
                    label,
                    time::to_text(added_at),
                    user.id.to_string()
                ],
            )?;
            if added != 1 {
                return Err(Error::WrongState {
                    id: draft.to_string(),
                    state: "already submitted",
                    action: "given evidence",
                });
            }
            let encryptor =
                age::Encryptor::with_recipients(std::iter::once(&recipient as &dyn age::Recipient))
                    .map_err(|e| Error::Crypto(e.to_string()))?;
            let sink = pieces::PieceWriter::new(tx, pieces::Copy::Desk, id.to_string());
            let mut out = encryptor
                .wrap_output(sink)
                .map_err(|e| Error::Crypto(e.to_string()))?;
            let stored = |e: std::io::Error| Error::io("storing the evidence", e);
            out.write_all(header.as_bytes()).map_err(stored)?;
            let size = match &image {
                Some(bytes) => {
                    out.write_all(bytes).map_err(stored)?;
                    bytes.len() as u64
                }
                None => {
                    let mut text = (kind == Kind::Text).then(TextCheck::default);
                    let mut size = 0u64;
                    let mut buf = Zeroizing::new(vec![0u8; READ_BYTES]);
                    let mut next: &[u8] = &head;
                    loop {
                        size += next.len() as u64;
                        if size > most {
                            return Err(too_large(limits));
                        }
                        if let Some(check) = text.as_mut() {
                            check.feed(next)?;
                        }
                        out.write_all(next).map_err(stored)?;
                        let n = file
                            .read(&mut buf)
                            .map_err(|e| Error::io("reading the file", e))?;
                        if n == 0 {
                            break;
                        }
                        next = &buf[..n];
                    }
                    if let Some(check) = text {
                        check.finish()?;
                    }
                    size
                }
            };
            let sink = out.finish().map_err(stored)?;
            sink.finish().map_err(stored)?;
            // Counted again under the write lock: the app and the command
            // line may both have added to this report meanwhile.
            if items_on_draft(tx, draft)? > MOST_ITEMS {
                return Err(too_many());
            }
            let others = held_on_report(tx, draft)?;
            if others.saturating_add(size) > u64::from(limits.report_mib) * MIB {
                return Err(refused(
                    "evidence_report_full",
                    format!(
                        "this report already carries as much evidence as it may ({} MiB in all; a coordinator can change it in Settings)",
                        limits.report_mib
                    ),
                ));
            }
            tx.execute(
                "UPDATE evidence SET size = ?1 WHERE id = ?2",
                params![size as i64, id.to_string()],
            )?;
            audit::append(
                tx,
                Some(&user.name),
                AuditAction::EvidenceAdded,
                Some(&draft.to_string()),
                Some(&format!("{} of {} bytes", kind.as_str(), size)),
            )?;
            Ok(size)
        });
        let size = match size {
            Ok(size) => size,
            Err(e) => {
                // Rolled back; the ciphertext it spilled leaves the log too.
                let _ = self.scrub();
                return Err(e);
            }
        };
        tracing::info!(report = %draft, kind = kind.as_str(), size, "evidence added");
        Ok(Evidence {
            id,
            report_id: draft,
            revision: 0,
            kind,
            size,
            caption,
            added_at,
        })
    }

    /// Removes an item from a draft (its owner or a coordinator; audited).
    /// Evidence sealed with a revision stays with it.
    pub fn remove_evidence(&mut self, s: &Session, evidence: Uuid) -> Result<()> {
        let Item { row, revision, .. } = self.item(s, evidence)?;
        let report = row.id;
        if revision != 0 {
            return Err(Error::InvalidInput(
                "this evidence was sent with the report and stays with it".into(),
            ));
        }
        crate::desk::require_state(&row, ReportState::Draft, "changed")?;
        let user = s.user().name.clone();
        self.write(|tx| {
            let removed = tx.execute(
                "DELETE FROM evidence WHERE id = ?1 AND revision = 0
                   AND EXISTS (SELECT 1 FROM reports r WHERE r.id = evidence.report_id AND r.state = 'draft')",
                [evidence.to_string()],
            )?;
            if removed != 1 {
                return Err(Error::InvalidInput(
                    "this evidence was sent with the report and stays with it".into(),
                ));
            }
            audit::append(
                tx,
                Some(&user),
                AuditAction::EvidenceRemoved,
                Some(&report.to_string()),
                Some(&evidence.to_string()),
            )
        })?;
        // No page of the removed file stays in the store or its log.
        self.scrub()
    }

    /// The evidence on a report (or on a follow-up draft), oldest first,
    /// with captions (its owner or a coordinator).
    pub fn evidence(&self, s: &Session, report: Uuid) -> Result<Vec<Evidence>> {
        self.check_session(s)?;
        let row = self.row(report)?;
        self.check_may_touch(s, &row)?;
        listed(
            self.db(),
            s,
            "SELECT id, report_id, revision, kind, size, label, added_at FROM evidence
             WHERE report_id = ?1 ORDER BY added_at, id",
            report,
            Captions::Checked,
        )
    }

    /// Everything the desk holds of the files given with a report, for the
    /// person's copy: the report's, then those on a follow-up not sealed
    /// yet (whose `report_id` is that draft's). A caption that will not
    /// open is left out (and logged) rather than stopping the copy. The
    /// caller has checked the session and the role.
    pub(crate) fn evidence_held(&self, s: &Session, report: Uuid) -> Result<Vec<Evidence>> {
        listed(
            self.db(),
            s,
            &format!(
                "SELECT e.id, e.report_id, e.revision, e.kind, e.size, e.label, e.added_at
                 {HELD_FOR_REPORT} ORDER BY r.id = ?1 DESC, e.added_at, e.id"
            ),
            report,
            Captions::BestEffort,
        )
    }

    /// What an item is kept as (its report's owner or a coordinator).
    pub fn evidence_kind(&self, s: &Session, evidence: Uuid) -> Result<Kind> {
        Ok(self.item(s, evidence)?.kind)
    }

    /// An item's report row, revision and kind, once the session is
    /// checked and `s` may touch that report.
    fn item(&self, s: &Session, evidence: Uuid) -> Result<Item> {
        self.check_session(s)?;
        let found: Option<(String, i64, String)> = self
            .db()
            .query_row(
                "SELECT report_id, revision, kind FROM evidence WHERE id = ?1",
                [evidence.to_string()],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()?;
        let Some((report, revision, kind)) = found else {
            return Err(Error::InvalidInput(format!(
                "there is no evidence {evidence} at this desk"
            )));
        };
        let report = Uuid::parse_str(&report)
            .map_err(|_| Error::Integrity("an evidence row names no report"))?;
        let row = self.row(report)?;
        self.check_may_touch(s, &row)?;
        Ok(Item {
            row,
            revision,
            kind: Kind::from_stored(&kind)?,
        })
    }

    /// An item's content, decrypted as it is read (its report's owner or a
    /// coordinator). The reader fails if the ciphertext was cut short,
    /// changed, or moved from another item. Opening evidence of a submitted
    /// report is audited, as opening its page is (a draft's is the work of
    /// whoever is writing it).
    pub fn open_evidence(&mut self, s: &Session, evidence: Uuid) -> Result<EvidenceContent<'_>> {
        let Item { row, kind, .. } = self.item(s, evidence)?;
        let report = row.id;
        if row.state != ReportState::Draft {
            let user = s.user().name.clone();
            self.write(|tx| {
                audit::append(
                    tx,
                    Some(&user),
                    AuditAction::EvidenceOpened,
                    Some(&report.to_string()),
                    Some(&evidence.to_string()),
                )
            })?;
        }
        let report = final_report(self.db(), report)?;
        open_desk_copy(self.db(), s, evidence, report, kind)
    }
}

/// What to do with a caption that will not open.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Captions {
    /// The listing fails: the store is damaged.
    Checked,
    /// The item is listed without it (logged).
    BestEffort,
}

/// The items `query` selects for `report` (its columns: id, report id,
/// revision, kind, size, label, added at), their captions opened.
fn listed(
    db: &rusqlite::Connection,
    s: &Session,
    query: &str,
    report: Uuid,
    captions: Captions,
) -> Result<Vec<Evidence>> {
    let mut stmt = db.prepare(query)?;
    let rows = stmt.query_map([report.to_string()], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, String>(1)?,
            r.get::<_, i64>(2)?,
            r.get::<_, String>(3)?,
            r.get::<_, i64>(4)?,
            r.get::<_, Vec<u8>>(5)?,
            r.get::<_, String>(6)?,
        ))
    })?;
    let mut out = Vec::new();
    for item in rows {
        let (id, report_id, revision, kind, size, label, added_at) = item?;
        let id = Uuid::parse_str(&id).map_err(|_| Error::Integrity("an evidence id"))?;
        let caption = match open_label(s, id, &label) {
            Ok(caption) => caption,
            Err(e) if captions == Captions::BestEffort => {
                tracing::warn!(evidence = %id, "an item's caption did not open: {e}");
                None
            }
            Err(e) => return Err(e),
        };
        out.push(Evidence {
            id,
            report_id: Uuid::parse_str(&report_id)
                .map_err(|_| Error::Integrity("an evidence row names no report"))?,
            revision: u32::try_from(revision)
                .map_err(|_| Error::Integrity("an evidence revision"))?,
            kind: Kind::from_stored(&kind)?,
            size: u64::try_from(size).map_err(|_| Error::Integrity("an evidence size"))?,
            caption,
            added_at: time::from_text(&added_at)
                .ok_or(Error::Integrity("a stored time does not read"))?,
        });
    }
    Ok(out)
}

/// An item's caption, from its label (encrypted to the desk key, and
/// naming the item it belongs to).
fn open_label(s: &Session, id: Uuid, label: &[u8]) -> Result<Option<String>> {
    let label: Label = serde_json::from_slice(&Zeroizing::new(
        age::decrypt(s.keys.identity(), label)
            .map_err(|_| Error::Integrity("a caption does not open with the desk key"))?,
    ))
    .map_err(|_| Error::Integrity("a caption does not read"))?;
    if label.evidence_id != id {
        return Err(Error::Integrity("a caption belongs to other evidence"));
    }
    Ok(label.caption)
}

/// An item's content from the desk's copy, its header checked: this
/// item's, of `report` and `kind`, or the ciphertext (or its row) was moved
/// or changed.
pub(crate) fn open_desk_copy<'c>(
    db: &'c rusqlite::Connection,
    s: &Session,
    evidence: Uuid,
    report: Uuid,
    kind: Kind,
) -> Result<EvidenceContent<'c>> {
    let want = header(evidence, report, kind);
    let failed = |e: age::DecryptError| match e {
        age::DecryptError::Io(e) => unread(e),
        _ => Error::Integrity("evidence does not open with the desk key"),
    };
    let decryptor = age::Decryptor::new(pieces::PieceReader::new(
        db,
        pieces::Copy::Desk,
        evidence.to_string(),
    ))
    .map_err(failed)?;
    let mut reader = decryptor
        .decrypt(std::iter::once(s.keys.identity() as &dyn age::Identity))
        .map_err(failed)?;
    let mut got = vec![0u8; want.len()];
    reader.read_exact(&mut got).map_err(unread)?;
    if got != want.as_bytes() {
        return Err(Error::Integrity(
            "evidence belongs to another item, report or kind",
        ));
    }
    Ok(EvidenceContent { reader })
}

/// Why an item's ciphertext could not be read: the store failing (the
/// report is tried again later, as it is) or the ciphertext damaged (the
/// report is set aside where that is checked).
pub(crate) fn unread(e: std::io::Error) -> Error {
    if e.get_ref()
        .is_some_and(|inner| inner.is::<rusqlite::Error>())
    {
        Error::io("reading evidence from the store", e)
    } else {
        Error::Integrity("evidence does not open with the desk key")
    }
}

/// An item's content as it is decrypted; an error while reading means the
/// stored ciphertext is damaged, or the store failed (`unread` tells which).
pub struct EvidenceContent<'d> {
    reader: age::stream::StreamReader<pieces::PieceReader<'d>>,
}

impl Read for EvidenceContent<'_> {
    fn read(&mut self, out: &mut [u8]) -> std::io::Result<usize> {
        self.reader.read(out)
    }
}

/// A file refused as evidence, for `rule` (worded by the app in the
/// person's language; `message` is the command line's).
pub(crate) fn refused(rule: &'static str, message: impl Into<String>) -> Error {
    Error::EvidenceRefused {
        rule,
        message: message.into(),
    }
}

/// A caption as kept: trimmed, at most 500 characters, no control
/// characters; an empty one is none.
fn tidy_caption(caption: Option<&str>) -> Result<Option<String>> {
    let Some(text) = caption.map(str::trim).filter(|t| !t.is_empty()) else {
        return Ok(None);
    };
    if text.chars().count() > CAPTION_MAX_CHARS {
        return Err(refused(
            "evidence_caption_long",
            format!(
                "a caption is at most {CAPTION_MAX_CHARS} characters: say more in the report itself"
            ),
        ));
    }
    if text.chars().any(char::is_control) {
        return Err(refused(
            "evidence_caption_control",
            "a caption is one line of text, without control characters",
        ));
    }
    Ok(Some(text.to_string()))
}

/// The report an item ends up on: the report a follow-up draft adds to, or
/// the draft itself.
fn final_report(db: &rusqlite::Connection, draft: Uuid) -> Result<Uuid> {
    let id: String = db.query_row(
        "SELECT coalesce(follows, id) FROM reports WHERE id = ?1",
        [draft.to_string()],
        |r| r.get(0),
    )?;
    Uuid::parse_str(&id).map_err(|_| Error::Integrity("a report id does not read"))
}

/// The evidence already on the report `draft` belongs to, in bytes: the
/// report's own and that of its follow-up being drafted, counted together.
fn held_on_report(db: &rusqlite::Connection, draft: Uuid) -> Result<u64> {
    let held: i64 = db.query_row(
        "SELECT coalesce(sum(size), 0) FROM evidence
         WHERE report_id IN (?1, (SELECT follows FROM reports WHERE id = ?1))
            OR report_id IN (SELECT id FROM reports WHERE follows = ?1)",
        [draft.to_string()],
        |r| r.get(0),
    )?;
    Ok(held.max(0) as u64)
}

/// How many items the draft `draft` carries (not yet sealed).
fn items_on_draft(db: &rusqlite::Connection, draft: Uuid) -> Result<usize> {
    let n: i64 = db.query_row(
        "SELECT count(*) FROM evidence WHERE report_id = ?1 AND revision = 0",
        [draft.to_string()],
        |r| r.get(0),
    )?;
    Ok(usize::try_from(n).unwrap_or(usize::MAX))
}

/// The first line of an item's plaintext, binding it to its id, the report
/// it ends up on and its kind.
fn header(id: Uuid, report: Uuid, kind: Kind) -> String {
    format!("{HEADER}\n{id}\n{report}\n{}\n", kind.as_str())
}
