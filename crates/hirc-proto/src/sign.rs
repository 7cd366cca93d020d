//! Signatures in the protocol (Ed25519): the hub signs every receipt, and a
//! desk signs its enrolment (proving it holds the key it registers) and the
//! outbox files it sends by hand.
//!
//! Words used here:
//! - **receipt key**: the hub's own signing key. Not the partnership's
//!   decryption key: the hub holds it, and it opens nothing. Desks pin its
//!   public half at enrolment and mark a report delivered only under a
//!   receipt it signed.
//! - **device key**: a desk's own signing key, registered with the hub at
//!   enrolment. The hub scopes report ids by it (a desk enrolled again with
//!   the same key is the same desk), and an outbox file signed with it
//!   proves which desk wrote it.
//!
//! Public keys and signatures travel as standard base64. Every signature
//! covers a message that starts with its own purpose (`hirc-receipt-v1`,
//! `hirc-enrol-v1`, `hirc-outbox-v1`), so one can never stand for another.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use ed25519_dalek::Signer;
use rand::RngCore;
use sha2::{Digest, Sha256};

use crate::{OutboxFile, Receipt};

/// Why a signature, or the key it needs, does not check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum SignatureError {
    /// The public key is not an Ed25519 key in base64.
    #[error("the signing key is not a key")]
    BadKey,
    /// There is no signature where one is required.
    #[error("it is not signed")]
    Missing,
    /// The signature is not in the right form.
    #[error("the signature is not a signature")]
    Malformed,
    /// The signature does not match the key and the content.
    #[error("the signature does not match")]
    Mismatch,
}

/// A signing key (the hub's receipt key, or a desk's device key). The secret
/// is zeroized when dropped.
pub struct SigningKey(ed25519_dalek::SigningKey);

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SigningKey(public {})", self.public())
    }
}

impl SigningKey {
    /// A new random key.
    pub fn generate() -> Self {
        let mut secret = zeroize::Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(secret.as_mut());
        Self(ed25519_dalek::SigningKey::from_bytes(&secret))
    }

    /// Reads a secret written by [`SigningKey::secret_base64`].
    pub fn from_secret_base64(text: &str) -> Option<Self> {
        let bytes = zeroize::Zeroizing::new(STANDARD.decode(text.trim()).ok()?);
        let secret: [u8; 32] = bytes.as_slice().try_into().ok()?;
        let secret = zeroize::Zeroizing::new(secret);
        Some(Self(ed25519_dalek::SigningKey::from_bytes(&secret)))
    }

    /// The secret, for the key's own file (handle like a passphrase).
    pub fn secret_base64(&self) -> zeroize::Zeroizing<String> {
        zeroize::Zeroizing::new(STANDARD.encode(self.0.to_bytes()))
    }

    /// The public half, as desks and hubs exchange it.
    pub fn public(&self) -> String {
        STANDARD.encode(self.0.verifying_key().to_bytes())
    }

    fn sign(&self, message: &[u8]) -> String {
        STANDARD.encode(self.0.sign(message).to_bytes())
    }

    /// Signs a receipt (the hub, before answering).
    pub fn sign_receipt(&self, receipt: &mut Receipt) {
        receipt.signature = Some(self.sign(&receipt_message(receipt)));
    }

    /// Signs a status (the partnership's `hirc-hub status set`, with the
    /// hub's receipt key).
    pub fn sign_status(&self, notice: &mut crate::StatusNotice) {
        notice.signature = self.sign(&status_message(notice));
    }

    /// Proves, at enrolment, that the desk holds this key.
    pub fn enrolment_proof(&self, code: &str) -> String {
        self.sign(&enrolment_message(code))
    }

    /// Signs an erasure notice (the desk, when a coordinator erases).
    pub fn sign_erasure(&self, notice: &mut crate::ErasureNotice) {
        notice.signature = self.sign(&erasure_message(notice));
    }

    /// Signs an erasure's receipt (the hub, before answering).
    pub fn sign_erasure_receipt(&self, receipt: &mut crate::ErasureReceipt) {
        receipt.signature = Some(self.sign(&erasure_receipt_message(receipt)));
    }

    /// Signs an outbox file (the desk, before it goes on a stick).
    pub fn sign_outbox(&self, file: &mut OutboxFile) {
        file.signature = Some(self.sign(&outbox_message(file)));
    }
}

fn verifying_key(public: &str) -> Result<ed25519_dalek::VerifyingKey, SignatureError> {
    let bytes: [u8; 32] = STANDARD
        .decode(public.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(SignatureError::BadKey)?;
    ed25519_dalek::VerifyingKey::from_bytes(&bytes).map_err(|_| SignatureError::BadKey)
}

/// Whether `public` is a public key in the form this protocol uses.
pub fn is_public_key(public: &str) -> bool {
    verifying_key(public).is_ok()
}

fn verify(public: &str, message: &[u8], signature: Option<&str>) -> Result<(), SignatureError> {
    let key = verifying_key(public)?;
    let signature = signature.ok_or(SignatureError::Missing)?;
    let bytes: [u8; 64] = STANDARD
        .decode(signature.trim())
        .ok()
        .and_then(|b| b.try_into().ok())
        .ok_or(SignatureError::Malformed)?;
    key.verify_strict(message, &ed25519_dalek::Signature::from_bytes(&bytes))
        .map_err(|_| SignatureError::Mismatch)
}

/// Checks a receipt's signature with the hub's receipt key (public half).
pub fn verify_receipt(receipt_key: &str, receipt: &Receipt) -> Result<(), SignatureError> {
    verify(
        receipt_key,
        &receipt_message(receipt),
        receipt.signature.as_deref(),
    )
}

/// Checks a status's signature with the hub's receipt key (public half).
pub fn verify_status(
    receipt_key: &str,
    notice: &crate::StatusNotice,
) -> Result<(), SignatureError> {
    verify(
        receipt_key,
        &status_message(notice),
        Some(&notice.signature),
    )
}

/// Checks an enrolment's proof of the device key.
pub fn verify_enrolment_proof(
    device_key: &str,
    code: &str,
    proof: &str,
) -> Result<(), SignatureError> {
    verify(device_key, &enrolment_message(code), Some(proof))
}

/// Checks an erasure notice's signature with its desk's device key.
pub fn verify_erasure(
    device_key: &str,
    notice: &crate::ErasureNotice,
) -> Result<(), SignatureError> {
    verify(
        device_key,
        &erasure_message(notice),
        Some(&notice.signature),
    )
}

/// Checks an erasure receipt's signature with the hub's receipt key.
pub fn verify_erasure_receipt(
    receipt_key: &str,
    receipt: &crate::ErasureReceipt,
) -> Result<(), SignatureError> {
    verify(
        receipt_key,
        &erasure_receipt_message(receipt),
        receipt.signature.as_deref(),
    )
}

/// Checks an outbox file's signature with its desk's device key.
pub fn verify_outbox(device_key: &str, file: &OutboxFile) -> Result<(), SignatureError> {
    verify(device_key, &outbox_message(file), file.signature.as_deref())
}

/// What a receipt's signature covers: every field but the signature, in a
/// fixed order, times to the millisecond.
fn receipt_message(r: &Receipt) -> Vec<u8> {
    let mut text = format!(
        "hirc-receipt-v1\n{}\n{}\n{}\n{}\n{}\n{}\n",
        r.device_id.map(|d| d.to_string()).unwrap_or_default(),
        r.report_id,
        r.revision,
        r.digest,
        r.received_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        r.receipt_id,
    );
    // Only receipts for revisions with evidence sign this line, so every
    // receipt signed before evidence existed still checks.
    if let Some(manifest) = &r.evidence {
        text.push_str(&format!("evidence {manifest}\n"));
    }
    text.into_bytes()
}

/// What a status's signature covers: its id, the report, the body's digest
/// and when it was set (not `seq`, which the store assigns afterwards).
fn status_message(n: &crate::StatusNotice) -> Vec<u8> {
    format!(
        "hirc-status-v1\n{}\n{}\n{}\n{}\n",
        n.status_id,
        n.report_id,
        crate::content_digest(n.body.as_bytes()),
        n.set_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    )
    .into_bytes()
}

fn erasure_message(n: &crate::ErasureNotice) -> Vec<u8> {
    format!(
        "hirc-erasure-v1\n{}\n{}\n",
        n.report_id,
        n.erased_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
    )
    .into_bytes()
}

fn erasure_receipt_message(r: &crate::ErasureReceipt) -> Vec<u8> {
    format!(
        "hirc-erasure-receipt-v1\n{}\n{}\n{}\n{}\n{}\n",
        r.report_id,
        r.device_id,
        r.erased_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        r.received_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
        r.revisions_deleted,
    )
    .into_bytes()
}

fn enrolment_message(code: &str) -> Vec<u8> {
    format!("hirc-enrol-v1\n{code}\n").into_bytes()
}

/// What an outbox file's signature covers: the desk, the time, and each
/// entry's id, revision and digest (the digest covers the payload).
fn outbox_message(f: &OutboxFile) -> Vec<u8> {
    let mut text = format!(
        "hirc-outbox-v1\n{}\n{}\n",
        f.device_id,
        f.created_at
            .to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
    );
    for e in &f.reports {
        text.push_str(&format!("{} {} {}\n", e.report_id, e.revision, e.digest));
        // Only revisions with evidence sign these lines, so every file
        // signed before evidence existed still checks.
        for item in &e.evidence {
            text.push_str(&format!(
                "evidence {} {} {}\n",
                item.id, item.length, item.digest
            ));
        }
    }
    text.into_bytes()
}

/// A short fingerprint of a public key, for people to compare by phone:
/// SHA-256, first 80 bits, five groups of four hex digits.
pub fn key_fingerprint(public: &str) -> String {
    crate::fingerprint(&Sha256::digest(public.trim().as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Utc;
    use uuid::Uuid;

    fn receipt() -> Receipt {
        Receipt {
            receipt_id: Uuid::now_v7(),
            report_id: Uuid::now_v7(),
            revision: 1,
            digest: "sha-256=:abc:".into(),
            received_at: Utc::now(),
            device_id: Some(Uuid::now_v7()),
            evidence: None,
            signature: None,
        }
    }

    #[test]
    fn a_signed_receipt_checks_and_any_change_breaks_it() {
        let key = SigningKey::generate();
        let mut r = receipt();
        assert_eq!(
            verify_receipt(&key.public(), &r),
            Err(SignatureError::Missing)
        );
        key.sign_receipt(&mut r);
        assert_eq!(verify_receipt(&key.public(), &r), Ok(()));
        let other = SigningKey::generate();
        assert_eq!(
            verify_receipt(&other.public(), &r),
            Err(SignatureError::Mismatch)
        );
        for change in 0..6 {
            let mut forged = r.clone();
            match change {
                5 => forged.evidence = Some("sha-256=:abc:".into()),
                0 => forged.report_id = Uuid::now_v7(),
                1 => forged.revision = 2,
                2 => forged.digest = "sha-256=:abd:".into(),
                3 => forged.device_id = Some(Uuid::now_v7()),
                _ => forged.received_at += chrono::Duration::milliseconds(1),
            }
            assert_eq!(
                verify_receipt(&key.public(), &forged),
                Err(SignatureError::Mismatch),
                "change {change}"
            );
        }
        assert_eq!(verify_receipt("not a key", &r), Err(SignatureError::BadKey));
        // A receipt for evidence signs its manifest too.
        let mut with = receipt();
        with.evidence = Some("sha-256=:m1:".into());
        key.sign_receipt(&mut with);
        assert_eq!(verify_receipt(&key.public(), &with), Ok(()));
        for forged in [None, Some("sha-256=:m2:".to_string())] {
            let forged = Receipt {
                evidence: forged,
                ..with.clone()
            };
            assert_eq!(
                verify_receipt(&key.public(), &forged),
                Err(SignatureError::Mismatch)
            );
        }
    }

    #[test]
    fn an_erasure_and_its_receipt_check_and_any_change_breaks_them() {
        let desk = SigningKey::generate();
        let hub = SigningKey::generate();
        let mut notice = crate::ErasureNotice {
            format: "hirc-erasure".into(),
            report_id: Uuid::now_v7(),
            erased_at: Utc::now(),
            signature: String::new(),
        };
        desk.sign_erasure(&mut notice);
        assert_eq!(verify_erasure(&desk.public(), &notice), Ok(()));
        assert!(verify_erasure(&hub.public(), &notice).is_err());
        let mut moved = notice.clone();
        moved.report_id = Uuid::now_v7();
        assert!(verify_erasure(&desk.public(), &moved).is_err());

        let mut receipt = crate::ErasureReceipt {
            report_id: notice.report_id,
            device_id: Uuid::now_v7(),
            erased_at: notice.erased_at,
            received_at: Utc::now(),
            revisions_deleted: 2,
            signature: None,
        };
        assert_eq!(
            verify_erasure_receipt(&hub.public(), &receipt),
            Err(SignatureError::Missing)
        );
        hub.sign_erasure_receipt(&mut receipt);
        assert_eq!(verify_erasure_receipt(&hub.public(), &receipt), Ok(()));
        let mut fewer = receipt.clone();
        fewer.revisions_deleted = 1;
        assert!(verify_erasure_receipt(&hub.public(), &fewer).is_err());
        // A desk's signature is never an erasure receipt.
        assert!(verify_erasure_receipt(&desk.public(), &receipt).is_err());
    }

    #[test]
    fn keys_round_trip_and_proofs_are_for_one_purpose() {
        let key = SigningKey::generate();
        let again = SigningKey::from_secret_base64(&key.secret_base64()).expect("reads");
        assert_eq!(again.public(), key.public());
        let proof = key.enrolment_proof("7K3M-QAXA-2BCD");
        assert_eq!(
            verify_enrolment_proof(&key.public(), "7K3M-QAXA-2BCD", &proof),
            Ok(())
        );
        assert!(verify_enrolment_proof(&key.public(), "7K3M-QAXA-2BCE", &proof).is_err());
        assert!(!format!("{key:?}").contains(key.secret_base64().as_str()));
        assert_eq!(key_fingerprint(&key.public()).len(), 24);
    }
}
