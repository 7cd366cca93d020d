//! Word back from the partnership: `hirc-hub status set` finds a report by
//! its reference (decrypting what arrived, with the partnership's key),
//! encrypts the status to that desk's status key and to the partnership,
//! signs it with the hub's receipt key, and leaves it for the desk to fetch.
//! The hub stores ciphertext it cannot read.

use anyhow::{Context, Result, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use chrono::{SubsecRound, Utc};
use hirc_proto::sign::SigningKey;
use hirc_proto::{MAX_STATUS_NOTE_CHARS, StatusNotice, StatusPlain, StatusState};
use uuid::Uuid;

use crate::plaintext::open;
use crate::store::HubStore;

/// A status set on a report.
#[derive(Debug, Clone)]
pub struct StatusSet {
    /// The report.
    pub report_id: Uuid,
    /// The status's id.
    pub status_id: Uuid,
    /// Its place in the hub's sequence.
    pub seq: i64,
}

/// A reference as printed (`CP-7K3M-QA`), from how it was typed: capitals,
/// no spaces. (The desk's own reading forgives more; the partnership copies
/// references from its export.)
fn printed(reference: &str) -> String {
    reference
        .split_whitespace()
        .collect::<String>()
        .to_ascii_uppercase()
}

/// Sets a status on the report with `reference`.
pub async fn set_status(
    store: &dyn HubStore,
    identities: &[age::x25519::Identity],
    signer: &SigningKey,
    reference: &str,
    state: StatusState,
    note: Option<&str>,
) -> Result<StatusSet> {
    let note = note.map(str::trim).filter(|n| !n.is_empty());
    if let Some(n) = note {
        if n.chars().count() > MAX_STATUS_NOTE_CHARS {
            bail!(
                "a note is at most {MAX_STATUS_NOTE_CHARS} characters; the desk shows it on the report's page"
            );
        }
        if n.chars().any(|c| c.is_control() && c != '\n') {
            bail!("a note is plain text (no control characters)");
        }
    }
    let wanted = printed(reference);
    // The report's latest revision that opens names it; its desk gets word.
    let mut found = None;
    for stored in store.reports_since(None).await? {
        if let Ok(plain) = open(&stored, identities)
            && plain.get("reference").and_then(|r| r.as_str()) == Some(wanted.as_str())
        {
            found = Some((stored.device_id, stored.receipt.report_id));
        }
    }
    let Some((device_id, report_id)) = found else {
        bail!(
            "no report with reference {wanted} has arrived at this hub (or it does not open with this identity file)"
        );
    };
    let Some(recipient) = store.status_key(device_id).await? else {
        bail!(
            "the desk that sent {wanted} has not registered a key for word back yet; it does so on its next sync (HIRC Desk from this version on): try again after that"
        );
    };
    let desk: age::x25519::Recipient = recipient
        .parse()
        .map_err(|_| anyhow::anyhow!("the desk's status key at the hub is damaged"))?;
    let set_at = Utc::now().trunc_subsecs(3);
    let status_id = Uuid::now_v7();
    let plain = serde_json::to_vec(&StatusPlain {
        format: "hirc-status".into(),
        status_id,
        report_id,
        reference: wanted,
        state,
        note: note.map(str::to_owned),
        set_at,
    })?;
    // To the desk, and to the partnership (its export lists what it said).
    let mut recipients: Vec<Box<dyn age::Recipient + Send>> = vec![Box::new(desk)];
    for i in identities {
        recipients.push(Box::new(i.to_public()));
    }
    let encryptor = age::Encryptor::with_recipients(
        recipients.iter().map(|r| r.as_ref() as &dyn age::Recipient),
    )
    .context("the status could not be encrypted")?;
    let mut body = Vec::new();
    let mut writer = encryptor.wrap_output(&mut body)?;
    std::io::Write::write_all(&mut writer, &plain)?;
    writer.finish()?;
    let mut notice = StatusNotice {
        status_id,
        seq: 0,
        report_id,
        set_at,
        body: STANDARD.encode(&body),
        signature: String::new(),
    };
    signer.sign_status(&mut notice);
    let Some(seq) = store.add_status(device_id, &notice).await? else {
        bail!(
            "report {} was erased at the person's request while the status was being made; no word is left on it",
            printed(reference)
        );
    };
    Ok(StatusSet {
        report_id,
        status_id,
        seq,
    })
}

/// A status's plaintext, if it opens with one of `identities`.
pub fn open_status(
    notice: &StatusNotice,
    identities: &[age::x25519::Identity],
) -> Option<StatusPlain> {
    let body = STANDARD.decode(&notice.body).ok()?;
    let plain = age::decrypt(identities.first()?, &body).ok().or_else(|| {
        identities
            .iter()
            .skip(1)
            .find_map(|i| age::decrypt(i, &body).ok())
    })?;
    let status: StatusPlain = serde_json::from_slice(&plain).ok()?;
    (status.status_id == notice.status_id && status.report_id == notice.report_id).then_some(status)
}
