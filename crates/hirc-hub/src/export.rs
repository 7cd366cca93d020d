//! The partnership's export: decrypt what arrived, outside the server, with
//! the partnership's identity file, and write it out. A report that does not
//! decrypt, or whose content does not match its receipt, is listed, never
//! skipped silently.

use std::io::Write;
use std::path::Path;

use age::secrecy::ExposeSecret as _;
use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::plaintext::open;
use crate::store::{HubStore, StoredReport};

/// What an export did.
#[derive(Debug, Default)]
pub struct ExportSummary {
    /// Reports written.
    pub written: usize,
    /// Reports not written, with why.
    pub failed: Vec<(Uuid, String)>,
    /// Statuses that did not open with the keys given (set with another
    /// partnership key), left out of the export.
    pub unopened_statuses: Vec<Uuid>,
    /// Reports erased at the person's request (in the JSON Lines export,
    /// one line each; the CSV has no place for them).
    pub erased: usize,
}

/// Reads an age identity file (`AGE-SECRET-KEY-1…` lines; `#` comments).
pub fn load_identities(path: &Path) -> anyhow::Result<Vec<age::x25519::Identity>> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| anyhow::anyhow!("could not read the identity file {}: {e}", path.display()))?;
    let ids: Vec<age::x25519::Identity> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .map(|l| {
            l.parse().map_err(|_| {
                anyhow::anyhow!(
                    "{} holds a line that is not an age identity",
                    path.display()
                )
            })
        })
        .collect::<anyhow::Result<_>>()?;
    if ids.is_empty() {
        anyhow::bail!("{} holds no age identity", path.display());
    }
    Ok(ids)
}

/// Output formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line: `{receipt, device_id, report}`.
    Jsonl,
    /// RFC 4180 CSV: receipt, then consent, then every report field
    /// (dotted names; lists joined with `;`).
    Csv,
}

/// Decrypts what arrived and writes it in `format`.
pub async fn export(
    store: &dyn HubStore,
    identities: &[age::x25519::Identity],
    since: Option<DateTime<Utc>>,
    format: Format,
    out: &mut dyn Write,
) -> anyhow::Result<ExportSummary> {
    match format {
        Format::Jsonl => export_jsonl(store, identities, since, out).await,
        Format::Csv => export_csv(store, identities, since, out).await,
    }
}

/// Writes one JSON object per line, `{current_consent, receipt, device_id,
/// report, statuses}`: each report's revisions together, in order, each
/// line led by the consent of the report's latest revision (what the person
/// agrees to now) and ending with what the partnership has said on it.
pub async fn export_jsonl(
    store: &dyn HubStore,
    identities: &[age::x25519::Identity],
    since: Option<DateTime<Utc>>,
    out: &mut dyn Write,
) -> anyhow::Result<ExportSummary> {
    let mut summary = ExportSummary::default();
    let statuses = statuses_by_report(store, identities, &mut summary).await?;
    for group in by_report(store.reports_since(since).await?) {
        let opened = open_group(&group, identities, &mut summary);
        let current = current_consent(&group, &opened);
        for (stored, report) in opened {
            let said = statuses
                .get(&stored.receipt.report_id)
                .cloned()
                .unwrap_or_default();
            let line = serde_json::json!({
                "current_consent": current,
                "receipt": stored.receipt,
                "device_id": stored.device_id,
                "report": report,
                "statuses": said,
            });
            writeln!(out, "{line}")?;
            summary.written += 1;
        }
    }
    // What is left of each erased report: that it was erased, by which
    // desk's notice, and when.
    for gone in store.erasures().await? {
        if since.is_some_and(|since| gone.received_at < since) {
            continue;
        }
        writeln!(out, "{}", serde_json::json!({ "erasure": gone }))?;
        summary.erased += 1;
    }
    out.flush()?;
    Ok(summary)
}

/// What the partnership has said on each report (`hirc-hub status set`),
/// oldest first, as it reads it back with its own key.
async fn statuses_by_report(
    store: &dyn HubStore,
    identities: &[age::x25519::Identity],
    summary: &mut ExportSummary,
) -> anyhow::Result<std::collections::HashMap<Uuid, Vec<serde_json::Value>>> {
    let mut out: std::collections::HashMap<Uuid, Vec<serde_json::Value>> =
        std::collections::HashMap::new();
    for notice in store.all_statuses().await? {
        if let Some(status) = crate::word_back::open_status(&notice, identities) {
            out.entry(notice.report_id)
                .or_default()
                .push(serde_json::json!({
                    "status_id": status.status_id,
                    "state": status.state,
                    "note": status.note,
                    "set_at": status.set_at,
                }));
        } else {
            summary.unopened_statuses.push(notice.status_id);
        }
    }
    Ok(out)
}

/// What arrived, as each report's revisions together in revision order;
/// reports in the order their first revision here arrived.
fn by_report(stored: Vec<StoredReport>) -> Vec<Vec<StoredReport>> {
    let mut groups: Vec<Vec<StoredReport>> = Vec::new();
    let mut place: std::collections::HashMap<Uuid, usize> = std::collections::HashMap::new();
    for s in stored {
        let at = *place.entry(s.receipt.report_id).or_insert_with(|| {
            groups.push(Vec::new());
            groups.len() - 1
        });
        groups[at].push(s);
    }
    for g in &mut groups {
        g.sort_by_key(|s| s.receipt.revision);
    }
    groups
}

/// A report's revisions opened; those that do not open are listed.
fn open_group<'a>(
    group: &'a [StoredReport],
    identities: &[age::x25519::Identity],
    summary: &mut ExportSummary,
) -> Vec<(&'a StoredReport, serde_json::Value)> {
    group
        .iter()
        .filter_map(|stored| match open(stored, identities) {
            Ok(report) => Some((stored, report)),
            Err(why) => {
                summary.failed.push((stored.receipt.receipt_id, why));
                None
            }
        })
        .collect()
}

/// The consent of a report's latest revision; `null` if that revision did
/// not open (an earlier consent is not the current one: it may have been
/// withdrawn since).
fn current_consent(
    group: &[StoredReport],
    opened: &[(&StoredReport, serde_json::Value)],
) -> serde_json::Value {
    let latest = group.iter().map(|s| s.receipt.revision).max();
    opened
        .last()
        .filter(|(stored, _)| Some(stored.receipt.revision) == latest)
        .and_then(|(_, report)| report.get("consent").cloned())
        .unwrap_or(serde_json::Value::Null)
}

/// Writes CSV: one row per report revision, each report's revisions
/// together in order; the columns are the union of every report's fields,
/// the current consent first, then each revision's own.
pub async fn export_csv(
    store: &dyn HubStore,
    identities: &[age::x25519::Identity],
    since: Option<DateTime<Utc>>,
    out: &mut dyn Write,
) -> anyhow::Result<ExportSummary> {
    let mut summary = ExportSummary {
        erased: store
            .erasures()
            .await?
            .iter()
            .filter(|gone| since.is_none_or(|since| gone.received_at >= since))
            .count(),
        ..ExportSummary::default()
    };
    let mut rows: Vec<Vec<(String, String)>> = Vec::new();
    for group in by_report(store.reports_since(since).await?) {
        let opened = open_group(&group, identities, &mut summary);
        let current = current_consent(&group, &opened);
        for (stored, report) in opened {
            let mut row = Vec::new();
            // What the person agrees to now leads each row.
            flatten("current_consent", &current, &mut row);
            row.extend(vec![
                (
                    "receipt_id".to_string(),
                    stored.receipt.receipt_id.to_string(),
                ),
                (
                    "received_at".to_string(),
                    stored.receipt.received_at.to_rfc3339(),
                ),
                ("device_id".to_string(), stored.device_id.to_string()),
            ]);
            // Consent first, then everything else in the order written.
            if let Some(consent) = report.get("consent") {
                flatten("consent", consent, &mut row);
            }
            if let Some(fields) = report.as_object() {
                for (key, value) in fields {
                    if key != "consent" {
                        flatten(key, value, &mut row);
                    }
                }
            }
            rows.push(row);
            summary.written += 1;
        }
    }
    let mut columns: Vec<String> = Vec::new();
    for row in &rows {
        for (name, _) in row {
            if !columns.contains(name) {
                columns.push(name.clone());
            }
        }
    }
    let mut csv = csv_writer(&mut *out);
    csv.write_record(columns.iter().map(|c| formula_safe(c)))?;
    for row in &rows {
        let cells = columns.iter().map(|c| {
            formula_safe(
                row.iter()
                    .find(|(n, _)| n == c)
                    .map_or("", |(_, v)| v.as_str()),
            )
        });
        csv.write_record(cells)?;
    }
    csv.flush()?;
    drop(csv);
    out.flush()?;
    Ok(summary)
}

fn flatten(prefix: &str, value: &serde_json::Value, row: &mut Vec<(String, String)>) {
    use serde_json::Value;
    match value {
        Value::Object(fields) => {
            for (key, v) in fields {
                flatten(&format!("{prefix}.{key}"), v, row);
            }
        }
        Value::Array(items) => {
            let joined = items.iter().map(|i| match i {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            });
            row.push((prefix.into(), joined.collect::<Vec<_>>().join(";")));
        }
        Value::Null => row.push((prefix.into(), String::new())),
        Value::String(s) => row.push((prefix.into(), s.clone())),
        other => row.push((prefix.into(), other.to_string())),
    }
}

/// RFC 4180: fields with a comma, quote or line break quoted, quotes
/// doubled, CRLF endings.
fn csv_writer<W: Write>(out: W) -> csv::Writer<W> {
    csv::WriterBuilder::new()
        .terminator(csv::Terminator::CRLF)
        .from_writer(out)
}

/// A cell a spreadsheet will not run as a formula: a leading `=`, `+`, `-`
/// or `@` gets a `'` in front (a report's text is anyone's words).
fn formula_safe(cell: &str) -> String {
    if cell.starts_with(['=', '+', '-', '@']) {
        format!("'{cell}")
    } else {
        cell.to_string()
    }
}

/// Writes a new identity file (owner-only) and returns its recipient.
pub fn keygen(path: &Path) -> anyhow::Result<String> {
    if path.exists() {
        anyhow::bail!(
            "{} already exists; it was left untouched (losing a key loses every report encrypted to it)",
            path.display()
        );
    }
    let identity = age::x25519::Identity::generate();
    let recipient = identity.to_public().to_string();
    let text = format!(
        "# HIRC partnership key, created {}\n# public key: {recipient}\n{}\n",
        Utc::now().to_rfc3339(),
        identity.to_string().expose_secret()
    );
    hirc_files::write_new(path, text.as_bytes())?;
    Ok(recipient)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_quotes_and_defuses_formulas() {
        let mut out = Vec::new();
        let cells = [
            "plain",
            "a,b",
            "say \"hi\"",
            "line\nbreak",
            "=HYPERLINK()",
            "-3",
        ];
        let mut csv = csv_writer(&mut out);
        csv.write_record(cells.map(formula_safe)).expect("write");
        drop(csv);
        assert_eq!(
            String::from_utf8(out).expect("utf8"),
            "plain,\"a,b\",\"say \"\"hi\"\"\",\"line\nbreak\",'=HYPERLINK(),'-3\r\n"
        );
    }
}
