//! Tokens and enrolment codes: made random, shown once, stored only as
//! SHA-256 hashes (a stolen hub database cannot be used to upload).

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hirc_proto::crockford;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// A new bearer token: 256 random bits.
pub fn new_token() -> String {
    let mut bytes = [0u8; 32];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("hirc1_{}", URL_SAFE_NO_PAD.encode(bytes))
}

/// A new enrolment code: 12 Crockford characters (60 bits) in three groups,
/// easy to read out over the phone. Single-use and short-lived.
pub fn new_enrol_code() -> String {
    let mut rng = rand::rngs::OsRng;
    let chars: Vec<char> = (0..12).map(|_| crockford::random_char(&mut rng)).collect();
    chars
        .chunks(4)
        .map(|c| c.iter().collect::<String>())
        .collect::<Vec<_>>()
        .join("-")
}

/// A typed code as stored: capitals, no separators, misreadings fixed.
pub fn normalise_code(typed: &str) -> String {
    typed
        .chars()
        .filter(|c| !matches!(c, '-' | ' ' | '\t'))
        .map(|c| crockford::normalise(c).unwrap_or(c.to_ascii_uppercase()))
        .collect()
}

/// The stored form of a token or code.
pub fn hash(secret: &str) -> String {
    Sha256::digest(secret.as_bytes())
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn codes_survive_being_read_aloud() {
        let code = new_enrol_code();
        assert_eq!(code.len(), 14);
        let typed = code.to_lowercase().replace('-', " ").replace('0', "o");
        assert_eq!(hash(&normalise_code(&typed)), hash(&normalise_code(&code)));
        assert_ne!(new_token(), new_token());
    }
}
