//! Report bodies at rest: a report becomes a [`SealedBody`] only through
//! [`seal`], and a report again only through [`open`], so plaintext has no
//! way into the store.
//!
//! age has no associated data, so the plaintext carries the report id, the
//! save number, the revision and the format version, and [`open`] checks them
//! against the row the ciphertext was read from: a ciphertext copied onto
//! another row, or an older one put back, is caught.

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::model::{REPORT_SCHEMA_VERSION, Report, ReportMeta};
use crate::vault::{DeskKeys, encrypt_to};

const FORMAT: &str = "hirc-report";

/// Whether a body is a draft or a sealed (submitted) revision.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BodyKind {
    /// Autosaved work in progress.
    Draft,
    /// A submitted revision.
    Sealed,
}

/// An age ciphertext of one report body, encrypted to the desk key.
#[derive(Clone, PartialEq, Eq)]
pub struct SealedBody(pub Vec<u8>);

impl std::fmt::Debug for SealedBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SealedBody({} bytes)", self.0.len())
    }
}

/// Where a body belongs: checked inside the ciphertext on every open.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyPlace {
    /// The report's id.
    pub report_id: Uuid,
    /// How many times the body has been written (1 for the first save).
    pub save_seq: i64,
    /// The sealed revision (0 while a draft).
    pub revision: u32,
    /// Draft or sealed.
    pub kind: BodyKind,
}

#[derive(Serialize)]
struct EnvelopeOut<'a> {
    format: &'static str,
    schema: u32,
    kind: BodyKind,
    report_id: Uuid,
    save_seq: i64,
    revision: u32,
    meta: &'a ReportMeta,
    report: &'a Report,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct EnvelopeIn {
    format: String,
    schema: u32,
    kind: BodyKind,
    report_id: Uuid,
    save_seq: i64,
    revision: u32,
    meta: ReportMeta,
    report: Report,
}

/// Encrypts a report body for its place.
pub fn seal(
    keys: &DeskKeys,
    place: BodyPlace,
    meta: &ReportMeta,
    report: &Report,
) -> Result<SealedBody> {
    let plain = Zeroizing::new(
        serde_json::to_vec(&EnvelopeOut {
            format: FORMAT,
            schema: REPORT_SCHEMA_VERSION,
            kind: place.kind,
            report_id: place.report_id,
            save_seq: place.save_seq,
            revision: place.revision,
            meta,
            report,
        })
        .map_err(|e| Error::Crypto(format!("could not serialise a report: {e}")))?,
    );
    Ok(SealedBody(encrypt_to(keys.recipient(), &plain)?))
}

/// Decrypts a body and checks that it belongs at `place`.
pub fn open(keys: &DeskKeys, place: BodyPlace, body: &SealedBody) -> Result<(ReportMeta, Report)> {
    let plain = Zeroizing::new(
        age::decrypt(keys.identity(), &body.0)
            .map_err(|_| Error::Integrity("a report body does not open with the desk key"))?,
    );
    let value: serde_json::Value = serde_json::from_slice(&plain)
        .map_err(|_| Error::Integrity("a report body is not a report"))?;
    let schema = value
        .get("schema")
        .and_then(serde_json::Value::as_u64)
        .ok_or(Error::Integrity("a report body has no format version"))?;
    let schema = u32::try_from(schema).unwrap_or(u32::MAX);
    if schema > REPORT_SCHEMA_VERSION {
        return Err(Error::ReportTooNew {
            found: schema,
            supported: REPORT_SCHEMA_VERSION,
        });
    }
    let value = upgrade(value, schema)?;
    let env: EnvelopeIn = serde_json::from_value(value)
        .map_err(|_| Error::Integrity("a report body does not match its format version"))?;
    if env.format != FORMAT || env.schema != REPORT_SCHEMA_VERSION {
        return Err(Error::Integrity("a report body is not a report"));
    }
    if env.report_id != place.report_id || env.meta.id != place.report_id {
        return Err(Error::Integrity("a report body belongs to another report"));
    }
    if env.save_seq != place.save_seq || env.revision != place.revision || env.kind != place.kind {
        return Err(Error::Integrity(
            "a report body is from another save of this report",
        ));
    }
    Ok((env.meta, env.report))
}

/// Encrypts to several age recipients at once (the partnership's key and,
/// say, an escrow key): any one of them can decrypt.
pub fn encrypt_to_all(recipients: &[age::x25519::Recipient], plaintext: &[u8]) -> Result<Vec<u8>> {
    crate::vault::encrypt_to_each(
        recipients.iter().map(|r| r as &dyn age::Recipient),
        plaintext,
    )
}

/// Brings an older envelope up to [`REPORT_SCHEMA_VERSION`], one step at a
/// time. Version 1 is the first; a later format adds its step here, so a
/// draft saved years ago still opens.
fn upgrade(value: serde_json::Value, from: u32) -> Result<serde_json::Value> {
    match from {
        REPORT_SCHEMA_VERSION => Ok(value),
        _ => Err(Error::Integrity(
            "a report body has an unknown format version",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn meta(id: Uuid) -> ReportMeta {
        ReportMeta {
            id,
            centre_code: "CP".into(),
            ambassador: Uuid::now_v7(),
            taken_at: chrono::Utc::now(),
        }
    }

    #[test]
    fn seal_open_round_trip_and_row_binding() {
        let keys = DeskKeys::generate();
        let (report, _) =
            Report::from_json(include_bytes!("../tests/data/report-v1.json")).expect("example");
        let id = Uuid::now_v7();
        let place = BodyPlace {
            report_id: id,
            save_seq: 3,
            revision: 0,
            kind: BodyKind::Draft,
        };
        let body = seal(&keys, place, &meta(id), &report).expect("seal");
        assert!(!String::from_utf8_lossy(&body.0).contains("Amina"));
        let (m, r) = open(&keys, place, &body).expect("open");
        assert_eq!(m.id, id);
        assert_eq!(r, report);

        for wrong in [
            BodyPlace {
                report_id: Uuid::now_v7(),
                ..place
            },
            BodyPlace {
                save_seq: 2,
                ..place
            },
            BodyPlace {
                kind: BodyKind::Sealed,
                ..place
            },
        ] {
            assert!(matches!(
                open(&keys, wrong, &body),
                Err(Error::Integrity(_))
            ));
        }
        let other = DeskKeys::generate();
        assert!(matches!(
            open(&other, place, &body),
            Err(Error::Integrity(_))
        ));
    }

    #[test]
    fn a_body_from_a_newer_format_is_refused_not_misread() {
        let keys = DeskKeys::generate();
        let id = Uuid::now_v7();
        let place = BodyPlace {
            report_id: id,
            save_seq: 1,
            revision: 0,
            kind: BodyKind::Draft,
        };
        let future = serde_json::json!({"format": FORMAT, "schema": REPORT_SCHEMA_VERSION + 1, "report_id": id});
        let body = SealedBody(
            encrypt_to(keys.recipient(), future.to_string().as_bytes()).expect("encrypt"),
        );
        assert!(matches!(
            open(&keys, place, &body),
            Err(Error::ReportTooNew { found, .. }) if found == REPORT_SCHEMA_VERSION + 1
        ));
    }
}
