//! Sneakernet: a desk that is never online is enrolled with a file, and its
//! sealed reports arrive on a USB stick. The same exactly-once rules as
//! uploads apply: a report revision is stored once, a repeat gets the same
//! receipt, another body is refused, and nothing stored changes. An outbox
//! file is imported only if the desk it names signed it with its device
//! key, and every receipt written back is signed with the hub's receipt key.

use std::path::Path;

use chrono::Utc;
use hirc_proto::sign::{SigningKey, verify_outbox};
use hirc_proto::{
    EnrolResponse, OFFLINE_ENROLMENT_FORMAT, OUTBOX_FILE_FORMAT, OfflineEnrolment, OutboxFile,
    RECEIPT_FILE_FORMAT, ReceiptFile, content_digest, decode_payload,
};
use uuid::Uuid;

use crate::secrets;
use crate::store::{ChunkPut, EvidenceChunk, HubStore, Put, Redeem};

/// The largest outbox file read (many thousands of reports).
const MAX_OUTBOX_FILE_BYTES: u64 = 512 * 1024 * 1024;

/// What an import did.
#[derive(Debug, Default)]
pub struct ImportSummary {
    /// Stored for the first time.
    pub stored: usize,
    /// Already stored with the same body (their receipts are in the file too).
    pub repeated: usize,
    /// Refused, with why.
    pub refused: Vec<(Uuid, String)>,
    /// Reports erased at the person's request (their receipts are in the
    /// file too).
    pub erased: usize,
}

/// What a desk enrolled by file needs to know of the hub.
pub struct HubIdentity<'a> {
    /// The device this desk was enrolled as before (it takes the new
    /// device key, so what it stored stays this desk's).
    pub same_desk_as: Option<Uuid>,
    /// The partnership recipients (age1…) the hub serves with.
    pub recipients: &'a [String],
    /// The hub's name.
    pub hub_name: &'a str,
    /// The hub's address, for when the desk goes online (may be empty).
    pub hub_url: &'a str,
    /// The hub's receipt-signing key.
    pub receipt_key: &'a SigningKey,
}

/// Enrols a desk on the spot and writes its enrolment file.
pub async fn offline_enrolment(
    store: &dyn HubStore,
    code: &str,
    centre: &str,
    path: &Path,
    hub: &HubIdentity<'_>,
) -> anyhow::Result<()> {
    let HubIdentity {
        same_desk_as,
        recipients,
        hub_name,
        hub_url,
        receipt_key,
    } = *hub;
    for r in recipients {
        r.parse::<age::x25519::Recipient>()
            .map_err(|_| anyhow::anyhow!("{r} is not an age recipient (age1…)"))?;
    }
    if path.exists() {
        anyhow::bail!("{} already exists; it was left untouched", path.display());
    }
    let token = secrets::new_token();
    // The desk cannot send a key of its own before it has the file, so its
    // device key is made here and travels in the file with the token;
    // unless it is a desk enrolled before whose key the hub knows: it
    // keeps that one, so what it stored stays its own.
    let old = match same_desk_as {
        Some(id) => Some(store.device(id).await?.ok_or_else(|| {
            anyhow::anyhow!(
                "there is no device {id} (`hirc-hub devices` lists them); nothing was enrolled"
            )
        })?),
        None => None,
    };
    let kept_key = old.as_ref().and_then(|d| d.device_key.clone());
    let made_key = kept_key.is_none().then(SigningKey::generate);
    let public = kept_key
        .clone()
        .or_else(|| made_key.as_ref().map(SigningKey::public))
        .unwrap_or_default();
    let device = match store
        .redeem(
            &secrets::hash(&secrets::normalise_code(code)),
            &format!("{centre} (offline)"),
            &secrets::hash(&token),
            Some(&public),
            Utc::now(),
        )
        .await?
    {
        Redeem::Enrolled(device) => device,
        other => anyhow::bail!("could not enrol the desk ({other:?})"),
    };
    if let (Some(old), None) = (&old, &kept_key) {
        // A device from before device keys takes the new one.
        store.adopt_key(old.id, &public).await?;
    }
    let file = OfflineEnrolment {
        format: OFFLINE_ENROLMENT_FORMAT.into(),
        hub_url: hub_url.into(),
        enrolment: EnrolResponse {
            device_id: device.id,
            token,
            hub_name: hub_name.into(),
            recipients: recipients.to_vec(),
            receipt_key: Some(receipt_key.public()),
        },
        device_key_secret: made_key.map(|k| k.secret_base64().to_string()),
    };
    hirc_files::write_new(path, serde_json::to_string_pretty(&file)?.as_bytes())?;
    eprintln!(
        "Enrolled device {} for {centre}. The file {} holds its token: carry it to the desk, run `hirc enrol --file`, then delete it.",
        device.id,
        path.display()
    );
    println!("{}", device.id);
    Ok(())
}

/// Stores an item of evidence from an outbox file, whole: `Ok(Err(why))`
/// when it is refused (the revision naming it is not stored).
async fn store_item(
    store: &dyn HubStore,
    device_id: Uuid,
    report_id: Uuid,
    item: &hirc_proto::OutboxEvidence,
) -> anyhow::Result<Result<(), String>> {
    let Some(bytes) = decode_payload(&item.payload) else {
        return Ok(Err("an item of evidence is not base64".into()));
    };
    if bytes.len() as u64 != item.length || content_digest(&bytes) != item.digest {
        return Ok(Err(
            "an item of evidence does not match its digest (damaged in transit?)".into(),
        ));
    }
    if !bytes.starts_with(b"age-encryption.org/v1\n") {
        return Ok(Err("an item of evidence is not an age file".into()));
    }
    // In chunks as over the network (a row holds at most one), from where
    // the hub stands (part of it may have arrived over the network).
    let held = store
        .evidence_held(device_id, item.id)
        .await?
        .filter(|h| h.report_id == report_id && h.length == item.length && h.digest == item.digest);
    if held.as_ref().is_some_and(|h| h.complete) {
        // Checked whole when it was completed.
        return Ok(Ok(()));
    }
    let mut at = held.map_or(0, |h| h.received);
    // Whether every byte held is one this import wrote, from the bytes
    // checked above; if any came over the network, the whole is checked
    // as it is held.
    let mut all_from_the_file = at == 0;
    while at < item.length {
        let end = (at + hirc_proto::MAX_EVIDENCE_CHUNK as u64).min(item.length);
        let chunk = EvidenceChunk {
            device_id,
            report_id,
            evidence_id: item.id,
            length: item.length,
            digest: item.digest.clone(),
            offset: at,
            bytes: bytes[at as usize..end as usize].to_vec(),
            // Carried by hand by the partnership itself: no daily amount.
            day_quota: u64::MAX,
            now: Utc::now(),
        };
        match store.put_evidence_chunk(chunk).await? {
            ChunkPut::Stored(h) => at = h.received,
            // The same item arriving over the network at this moment: go
            // on from where it stands.
            ChunkPut::NotAt(Some(h)) if h.complete => return Ok(Ok(())),
            ChunkPut::NotAt(Some(h)) if h.received > at => {
                at = h.received;
                all_from_the_file = false;
            }
            ChunkPut::NotAt(_) | ChunkPut::Conflict(_) => {
                return Ok(Err(
                    "the hub holds an item of evidence of this id with other bytes".into(),
                ));
            }
            ChunkPut::Erased(_) => {
                return Ok(Err(
                    "this report was erased at the person's request; it was not stored again"
                        .into(),
                ));
            }
            ChunkPut::OverQuota => return Ok(Err("over the hub's daily amount".into())),
        }
    }
    if !all_from_the_file {
        // Part came over the network (even every byte, the hub stopped
        // before checking it): the whole is checked as it is held.
        let whole = hirc_proto::parse_content_digest(&item.digest)
            == Some(crate::store::held_sha256(store, device_id, item.id).await?);
        store.settle_evidence(device_id, item.id, whole).await?;
        if !whole {
            return Ok(Err(
                "an item of evidence that had arrived over the network, in part or whole, did not match its digest; it was discarded: import the file again"
                    .into(),
            ));
        }
        return Ok(Ok(()));
    }
    store.settle_evidence(device_id, item.id, true).await?;
    Ok(Ok(()))
}

/// Ingests an outbox file and writes the receipt file.
pub async fn outbox_file(
    store: &dyn HubStore,
    path: &Path,
    receipts_path: &Path,
    receipt_key: &SigningKey,
) -> anyhow::Result<ImportSummary> {
    if receipts_path.exists() {
        anyhow::bail!(
            "{} already exists; choose another name for the receipts",
            receipts_path.display()
        );
    }
    let size = std::fs::metadata(path)
        .map_err(|e| anyhow::anyhow!("could not read {}: {e}", path.display()))?
        .len();
    if size > MAX_OUTBOX_FILE_BYTES {
        anyhow::bail!(
            "{} is {size} bytes, larger than an outbox file can be; is it the right file?",
            path.display()
        );
    }
    let text = std::fs::read(path)?;
    let file: OutboxFile = serde_json::from_slice(&text)
        .map_err(|e| anyhow::anyhow!("{} is not an outbox file ({e})", path.display()))?;
    if file.format != OUTBOX_FILE_FORMAT {
        anyhow::bail!("{} is not an outbox file", path.display());
    }
    let device = store.device(file.device_id).await?.ok_or_else(|| {
        anyhow::anyhow!(
            "the file names device {}, which is not enrolled with this hub; nothing was imported",
            file.device_id
        )
    })?;
    let Some(device_key) = &device.device_key else {
        anyhow::bail!(
            "device {} was enrolled before outbox files were signed, so this file cannot be proved to come from it; nothing was imported. Enrol the desk again (a new enrolment file) and export its outbox again",
            device.id
        );
    };
    if verify_outbox(device_key, &file).is_err() {
        tracing::warn!(device = %device.id, "an outbox file not signed by the desk it names was refused");
        anyhow::bail!(
            "the file is not signed by device {} (it was written elsewhere, or changed on the way); nothing was imported",
            device.id
        );
    }
    if device.revoked_at.is_some() {
        anyhow::bail!(
            "the file comes from device {}, which has been revoked; nothing was imported",
            device.id
        );
    }
    let mut summary = ImportSummary::default();
    // Erasures first: a report the same file carries and erases is not
    // stored.
    let mut erasures = Vec::new();
    for notice in &file.erasures {
        if notice.format != hirc_proto::ERASURE_FORMAT
            || hirc_proto::sign::verify_erasure(device_key, notice).is_err()
            || notice.erased_at > Utc::now() + chrono::Duration::days(1)
        {
            summary.refused.push((
                notice.report_id,
                "an erasure notice not signed by this desk's device key, or dated ahead (check the desk's clock)".into(),
            ));
            continue;
        }
        let gone = store
            .erase(device.id, notice.report_id, notice.erased_at, Utc::now())
            .await?;
        let mut receipt = hirc_proto::ErasureReceipt {
            report_id: gone.report_id,
            device_id: gone.device_id,
            erased_at: gone.erased_at,
            received_at: gone.received_at,
            revisions_deleted: gone.revisions_deleted,
            signature: None,
        };
        receipt_key.sign_erasure_receipt(&mut receipt);
        erasures.push(receipt);
        summary.erased += 1;
    }
    let mut receipts = Vec::new();
    for entry in &file.reports {
        let Some(body) = decode_payload(&entry.payload) else {
            summary
                .refused
                .push((entry.report_id, "the payload is not base64".into()));
            continue;
        };
        if content_digest(&body) != entry.digest {
            summary.refused.push((
                entry.report_id,
                "the payload does not match its digest (damaged in transit?)".into(),
            ));
            continue;
        }
        if age::Decryptor::new_buffered(&body[..]).is_err() {
            summary
                .refused
                .push((entry.report_id, "the payload is not an age file".into()));
            continue;
        }
        // Its evidence first, each item whole and checked, as an upload
        // sends it before the revision.
        let manifest = entry.manifest();
        if manifest.len() > hirc_proto::MAX_EVIDENCE_ITEMS {
            summary.refused.push((
                entry.report_id,
                "it names more items of evidence than a revision may".into(),
            ));
            continue;
        }
        let mut held = Ok(());
        for item in &entry.evidence {
            held = store_item(store, device.id, entry.report_id, item).await?;
            if held.is_err() {
                break;
            }
        }
        if let Err(why) = held {
            summary.refused.push((entry.report_id, why));
            continue;
        }
        // Named before the revision is stored, so that no sweep takes them.
        if !manifest.is_empty()
            && !store
                .name_evidence(device.id, entry.report_id, manifest.clone())
                .await?
        {
            summary.refused.push((
                entry.report_id,
                "its evidence went from the hub while it was carried in: import the file again"
                    .into(),
            ));
            continue;
        }
        let evidence =
            (!manifest.is_empty()).then(|| hirc_proto::evidence_manifest_digest(&manifest));
        match store
            .put_with_evidence(
                device.id,
                entry.report_id,
                entry.revision,
                &entry.digest,
                body,
                evidence,
                Utc::now(),
            )
            .await?
        {
            Put::Created(r) => {
                summary.stored += 1;
                receipts.push(r);
            }
            Put::Repeat(r) => {
                summary.repeated += 1;
                receipts.push(r);
            }
            Put::Conflict(held) => {
                // The desk stored this revision before, encrypted another
                // time: the receipt of what is held goes back to it.
                summary.refused.push((
                    entry.report_id,
                    "this desk stored this revision earlier with another body (its receipt goes back to the desk)".into(),
                ));
                receipts.push(held);
            }
            Put::Erased(gone) => {
                // An outbox file from before the erasure, brought back.
                summary.refused.push((
                    entry.report_id,
                    format!(
                        "this report was erased at the person's request on {}; it was not stored again",
                        gone.erased_at.format("%Y-%m-%d")
                    ),
                ));
            }
        }
    }
    for r in &mut receipts {
        receipt_key.sign_receipt(r);
    }
    let out = ReceiptFile {
        format: RECEIPT_FILE_FORMAT.into(),
        device_id: device.id,
        receipts,
        erasures,
    };
    hirc_files::write_new(
        receipts_path,
        serde_json::to_string_pretty(&out)?.as_bytes(),
    )?;
    tracing::info!(device = %device.id, stored = summary.stored, repeated = summary.repeated, refused = summary.refused.len(), "outbox file imported");
    Ok(summary)
}
