//! What arrived, read with the partnership's key: a stored revision
//! decrypted and checked against its receipt (age has no associated data,
//! so a body moved to another report or revision is caught here).

use crate::store::StoredReport;

/// A stored revision's plaintext, checked against its receipt.
pub(crate) fn open(
    stored: &StoredReport,
    identities: &[age::x25519::Identity],
) -> Result<serde_json::Value, String> {
    let decryptor = age::Decryptor::new_buffered(&stored.body[..])
        .map_err(|_| "not an age file".to_string())?;
    let mut reader = decryptor
        .decrypt(identities.iter().map(|i| i as &dyn age::Identity))
        .map_err(|_| "does not decrypt with this identity file".to_string())?;
    let mut plain = Vec::new();
    std::io::Read::read_to_end(&mut reader, &mut plain)
        .map_err(|_| "the ciphertext is damaged".to_string())?;
    let value: serde_json::Value =
        serde_json::from_slice(&plain).map_err(|_| "decrypts, but is not JSON".to_string())?;
    // age has no associated data: the id and revision inside must match the
    // receipt, or the body was swapped.
    let id_ok = value
        .get("report_id")
        .and_then(|v| v.as_str())
        .is_none_or(|v| v == stored.receipt.report_id.to_string());
    let rev_ok = value
        .get("revision")
        .and_then(|v| v.as_u64())
        .is_none_or(|v| v == u64::from(stored.receipt.revision));
    if !(id_ok && rev_ok) {
        return Err("its content names another report or revision than its receipt".into());
    }
    Ok(value)
}
