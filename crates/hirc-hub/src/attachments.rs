//! The partnership's export of evidence (`hirc-hub export --attachments-dir
//! DIR`): each report's photos and documents decrypted into a folder of its
//! own, beside the reports' export, every byte checked on the way: the
//! ciphertext against the digest the hub holds, the plaintext's first lines
//! against the report's own list (so a copy moved onto another report is
//! caught), and the content against the digest the desk took of it.
//!
//! Nothing is held whole in memory: the ciphertext is copied chunk by chunk
//! to a file beside its destination, and decrypted from there as a stream.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

use crate::plaintext::open;
use crate::store::{HubStore, StoredReport};

/// What an export of attachments did.
#[derive(Debug, Default)]
pub struct AttachmentSummary {
    /// Files written.
    pub written: usize,
    /// Folders (reports) written to.
    pub reports: usize,
    /// Items not written, with why (the report and the item's id).
    pub failed: Vec<(Uuid, Uuid, String)>,
}

/// One item as a report's `evidence.json` lists it.
#[derive(Debug, Serialize)]
struct Listed {
    file: String,
    revision: u32,
    kind: String,
    caption: Option<String>,
    size: u64,
    content_digest: String,
    evidence_id: String,
}

/// An item as the revision's payload names it.
struct Entry {
    id: Uuid,
    evidence_id: Uuid,
    kind: String,
    caption: Option<String>,
    size: u64,
    content_digest: String,
    length: u64,
    digest: String,
}

fn entries(report: &serde_json::Value) -> Result<Vec<Entry>, String> {
    let Some(list) = report.get("evidence") else {
        return Ok(Vec::new());
    };
    let bad = || "its list of evidence does not read".to_string();
    let text =
        |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).map(str::to_string);
    list.as_array()
        .ok_or_else(bad)?
        .iter()
        .map(|v| {
            Ok(Entry {
                id: text(v, "id").and_then(|t| t.parse().ok()).ok_or_else(bad)?,
                evidence_id: text(v, "evidence_id")
                    .and_then(|t| t.parse().ok())
                    .ok_or_else(bad)?,
                kind: text(v, "kind")
                    .filter(|k| ["jpeg", "png", "pdf", "text"].contains(&k.as_str()))
                    .ok_or_else(bad)?,
                caption: text(v, "caption"),
                size: v.get("size").and_then(|x| x.as_u64()).ok_or_else(bad)?,
                content_digest: text(v, "content_digest").ok_or_else(bad)?,
                length: v.get("length").and_then(|x| x.as_u64()).ok_or_else(bad)?,
                digest: text(v, "digest").ok_or_else(bad)?,
            })
        })
        .collect()
}

fn extension(kind: &str) -> &'static str {
    match kind {
        "jpeg" => "jpg",
        "png" => "png",
        "pdf" => "pdf",
        _ => "txt",
    }
}

/// A report's folder name: its reference and its id (two desks' reports
/// may share a reference; ids are unique), or its id alone when the
/// reference is not one (letters, digits and dashes, at most 20).
fn folder_name(stored: &StoredReport, report: &serde_json::Value) -> String {
    let id = stored.receipt.report_id;
    report
        .get("reference")
        .and_then(|r| r.as_str())
        .filter(|r| {
            (1..=20).contains(&r.len()) && r.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
        })
        .map_or_else(|| id.to_string(), |r| format!("{r}_{id}"))
}

/// Refuses a folder that is not new or empty (checked before an export
/// writes anything, and again as it starts).
pub fn check_dir(dir: &Path) -> anyhow::Result<()> {
    if dir.exists() && std::fs::read_dir(dir)?.next().is_some() {
        anyhow::bail!(
            "{} is not empty; attachments are written to a new or empty folder, never over anything",
            dir.display()
        );
    }
    Ok(())
}

/// Writes every stored revision's evidence under `dir` (a new or empty
/// folder, made owner-only): one folder per report, its files and an
/// `evidence.json` listing them with captions and digests.
pub async fn export_attachments(
    store: &dyn HubStore,
    identities: &[age::x25519::Identity],
    since: Option<DateTime<Utc>>,
    dir: &Path,
) -> anyhow::Result<AttachmentSummary> {
    check_dir(dir)?;
    hirc_files::private_dir(dir)
        .map_err(|e| anyhow::anyhow!("could not make {}: {e}", dir.display()))?;
    let mut summary = AttachmentSummary::default();
    let mut listed: std::collections::BTreeMap<PathBuf, Vec<Listed>> = Default::default();
    for stored in store.reports_since(since).await? {
        // A revision that does not open is listed by the reports' export.
        let Ok(report) = open(&stored, identities) else {
            continue;
        };
        let items = match entries(&report) {
            Ok(items) => items,
            Err(why) => {
                summary
                    .failed
                    .push((stored.receipt.report_id, Uuid::nil(), why));
                continue;
            }
        };
        if items.is_empty() {
            continue;
        }
        let folder = dir.join(folder_name(&stored, &report));
        if let Err(e) = hirc_files::private_dir(&folder) {
            summary.failed.push((
                stored.receipt.report_id,
                Uuid::nil(),
                format!("could not make {}: {e}", folder.display()),
            ));
            continue;
        }
        for (n, item) in items.iter().enumerate() {
            let file = format!(
                "r{}-{}.{}",
                stored.receipt.revision,
                n + 1,
                extension(&item.kind)
            );
            match write_item(store, identities, &stored, item, &folder.join(&file)).await {
                Ok(()) => {
                    summary.written += 1;
                    listed.entry(folder.clone()).or_default().push(Listed {
                        file,
                        revision: stored.receipt.revision,
                        kind: item.kind.clone(),
                        caption: item.caption.clone(),
                        size: item.size,
                        content_digest: item.content_digest.clone(),
                        evidence_id: item.evidence_id.to_string(),
                    });
                }
                Err(why) => summary
                    .failed
                    .push((stored.receipt.report_id, item.id, why)),
            }
        }
    }
    for (folder, items) in &listed {
        hirc_files::write_new(
            &folder.join("evidence.json"),
            serde_json::to_string_pretty(items)?.as_bytes(),
        )?;
    }
    summary.reports = listed.len();
    Ok(summary)
}

/// One item: ciphertext copied beside `to` (checked against its length and
/// digest), then decrypted from there beside it (its first lines and its
/// content checked), and only then given its name. On any failure, or if
/// the export is stopped part way, nothing is left under the name `to`.
async fn write_item(
    store: &dyn HubStore,
    identities: &[age::x25519::Identity],
    stored: &StoredReport,
    item: &Entry,
    to: &Path,
) -> Result<(), String> {
    let sealed = to.with_extension("age.part");
    let opened = to.with_extension("part");
    let result = async {
        let mut file = hirc_files::create_new(&sealed)
            .map_err(|e| format!("could not write {}: {e}", sealed.display()))?;
        let mut hash = Sha256::new();
        let mut length = 0u64;
        let mut seq = 0;
        while let Some(chunk) = store
            .evidence_chunk(stored.device_id, item.id, seq)
            .await
            .map_err(|e| e.to_string())?
        {
            hash.update(&chunk);
            length += chunk.len() as u64;
            file.write_all(&chunk)
                .map_err(|e| format!("could not write {}: {e}", sealed.display()))?;
            seq += 1;
        }
        if seq == 0 {
            return Err("the hub does not hold it".to_string());
        }
        if length != item.length || hirc_proto::digest_value(&hash.finalize()) != item.digest {
            return Err("what the hub holds is not what the report names".to_string());
        }
        drop(file);
        decrypt_into(identities, stored, item, &sealed, &opened)?;
        // Never over an existing file: a link fails if `to` exists.
        std::fs::hard_link(&opened, to).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                format!("{} already exists", to.display())
            } else {
                format!("could not write {}: {e}", to.display())
            }
        })
    }
    .await;
    let _ = std::fs::remove_file(&sealed);
    let _ = std::fs::remove_file(&opened);
    result
}

fn decrypt_into(
    identities: &[age::x25519::Identity],
    stored: &StoredReport,
    item: &Entry,
    sealed: &Path,
    to: &Path,
) -> Result<(), String> {
    let file = std::fs::File::open(sealed).map_err(|e| e.to_string())?;
    let decryptor = age::Decryptor::new(std::io::BufReader::new(file))
        .map_err(|_| "not an age file".to_string())?;
    let mut reader = decryptor
        .decrypt(identities.iter().map(|i| i as &dyn age::Identity))
        .map_err(|_| "does not decrypt with this identity file".to_string())?;
    let want = hirc_proto::evidence_copy_header(
        item.id,
        item.evidence_id,
        stored.receipt.report_id,
        stored.receipt.revision,
        &item.kind,
    );
    let mut got = vec![0u8; want.len()];
    reader
        .read_exact(&mut got)
        .map_err(|_| "the ciphertext is damaged".to_string())?;
    if got != want.as_bytes() {
        return Err("it belongs to another report, revision or item".to_string());
    }
    let mut out = hirc_files::create_new(to).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            format!("{} already exists", to.display())
        } else {
            format!("could not write {}: {e}", to.display())
        }
    })?;
    let mut hash = Sha256::new();
    let mut size = 0u64;
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = reader
            .read(&mut buf)
            .map_err(|_| "the ciphertext is damaged".to_string())?;
        if n == 0 {
            break;
        }
        hash.update(&buf[..n]);
        size += n as u64;
        out.write_all(&buf[..n])
            .map_err(|e| format!("could not write {}: {e}", to.display()))?;
    }
    out.sync_all().map_err(|e| e.to_string())?;
    if size != item.size || hirc_proto::digest_value(&hash.finalize()) != item.content_digest {
        return Err("its content is not what the desk sent".to_string());
    }
    Ok(())
}
