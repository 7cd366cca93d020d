//! The vault: the desk key and the slots that open it.
//!
//! Words used here:
//! - **desk key**: an age X25519 identity made at set-up. Every report body is
//!   encrypted to it. It is only ever on disk inside a slot.
//! - **slot**: the desk key encrypted with one person's passphrase (age
//!   scrypt, the passphrase as the file's only recipient). One per user, plus
//!   one for the recovery code. Unlocking means opening your own slot.
//! - **facts key**: 32 random bytes, stored encrypted to the desk key, that
//!   seal the small per-report facts with XChaCha20-Poly1305. Listing 10,000
//!   reports cannot afford 10,000 X25519 operations (about 58 µs each here);
//!   one symmetric key opened once at unlock makes it a few milliseconds.
//!
//! Secrets live in zeroizing types and print as `<redacted>`.

use std::io::Write as _;

use age::secrecy::{ExposeSecret, SecretString};
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use hirc_proto::crockford;
use rand::RngCore;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The shortest passphrase we accept when one is set. Passphrases guard
/// special category data on a laptop that may be stolen; scrypt slows
/// guessing, length does the rest.
pub const MIN_PASSPHRASE_CHARS: usize = 10;
/// The longest passphrase we accept (a paste accident guard).
pub const MAX_PASSPHRASE_CHARS: usize = 1024;
/// The highest scrypt work factor we will try when opening a slot. A slot made
/// on a fast machine still opens on a slow one; a hostile file cannot make us
/// work for minutes.
const MAX_SCRYPT_LOG_N: u8 = 22;
/// The lowest work factor [`KdfCost::fixed`] allows.
pub const MIN_SCRYPT_LOG_N: u8 = 10;

/// A passphrase typed by a person.
pub struct Passphrase(SecretString);

impl Passphrase {
    /// Wraps a passphrase as typed (no rules applied: use for unlocking).
    pub fn new(text: String) -> Self {
        Self(SecretString::from(text))
    }

    /// Checks the rules for a new passphrase.
    pub fn check_new(&self) -> Result<()> {
        let text = self.0.expose_secret();
        let n = text.chars().count();
        if text.trim().is_empty() {
            return Err(Error::WeakPassphrase("the passphrase is empty"));
        }
        if n < MIN_PASSPHRASE_CHARS {
            return Err(Error::WeakPassphrase(
                "the passphrase is too short: use at least 10 characters (a few words is easiest to remember)",
            ));
        }
        if n > MAX_PASSPHRASE_CHARS {
            return Err(Error::WeakPassphrase(
                "the passphrase is longer than 1024 characters",
            ));
        }
        Ok(())
    }

    fn secret(&self) -> &SecretString {
        &self.0
    }
}

impl std::fmt::Debug for Passphrase {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Passphrase(<redacted>)")
    }
}

/// The recovery code: 150 random bits, shown once at set-up, for a safe.
///
/// Written as six groups of five Crockford base32 characters; reading it back
/// ignores case, spaces and dashes and accepts the usual misreadings
/// (O for 0, I and L for 1).
pub struct RecoveryCode(SecretString);

const RECOVERY_CHARS: usize = 30;

impl RecoveryCode {
    /// Makes a new random code.
    pub fn generate() -> Self {
        let mut rng = rand::rngs::OsRng;
        let mut text = String::with_capacity(RECOVERY_CHARS + 5);
        for i in 0..RECOVERY_CHARS {
            if i > 0 && i % 5 == 0 {
                text.push('-');
            }
            text.push(crockford::random_char(&mut rng));
        }
        Self(SecretString::from(text))
    }

    /// Reads a code typed by a person.
    pub fn parse(typed: &str) -> Result<Self> {
        let mut text = Zeroizing::new(String::with_capacity(RECOVERY_CHARS + 5));
        let mut count = 0usize;
        for c in typed.chars() {
            if matches!(c, ' ' | '-' | '\t') {
                continue;
            }
            let c = match crockford::normalise(c) {
                Some(c) => c,
                None => {
                    return Err(Error::InvalidInput(
                        "a recovery code has only the letters and digits printed on it".into(),
                    ));
                }
            };
            if count > 0 && count.is_multiple_of(5) {
                text.push('-');
            }
            text.push(c);
            count += 1;
        }
        if count != RECOVERY_CHARS {
            return Err(Error::InvalidInput(format!(
                "a recovery code has {RECOVERY_CHARS} characters (six groups of five)"
            )));
        }
        Ok(Self(SecretString::from(text.as_str())))
    }

    /// The code, for showing once.
    pub fn reveal(&self) -> &str {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCode(<redacted>)")
    }
}

/// How hard scrypt works when a slot is written.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KdfCost(Option<u8>);

impl KdfCost {
    /// age's own choice: about one second on this machine. The right choice
    /// for real desks.
    pub fn calibrated() -> Self {
        Self(None)
    }

    /// A fixed work factor `N = 2^log_n`, for tests and benchmarks that open
    /// slots thousands of times. Never lower than [`MIN_SCRYPT_LOG_N`].
    pub fn fixed(log_n: u8) -> Result<Self> {
        if !(MIN_SCRYPT_LOG_N..=MAX_SCRYPT_LOG_N).contains(&log_n) {
            return Err(Error::InvalidInput(format!(
                "the scrypt work factor must be between {MIN_SCRYPT_LOG_N} and {MAX_SCRYPT_LOG_N}"
            )));
        }
        Ok(Self(Some(log_n)))
    }
}

/// The unlocked keys of one desk.
pub struct DeskKeys {
    identity: age::x25519::Identity,
    recipient: age::x25519::Recipient,
    facts: FactsKey,
}

impl std::fmt::Debug for DeskKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("DeskKeys(<redacted>)")
    }
}

impl DeskKeys {
    /// Makes the keys of a new desk.
    pub fn generate() -> Self {
        let identity = age::x25519::Identity::generate();
        let mut key = Zeroizing::new([0u8; 32]);
        rand::rngs::OsRng.fill_bytes(key.as_mut());
        Self {
            recipient: identity.to_public(),
            identity,
            facts: FactsKey(key),
        }
    }

    /// The desk's public key (`age1…`).
    pub fn recipient(&self) -> &age::x25519::Recipient {
        &self.recipient
    }

    /// The identity, for opening bodies.
    pub(crate) fn identity(&self) -> &age::x25519::Identity {
        &self.identity
    }

    /// The facts key.
    pub(crate) fn facts(&self) -> &FactsKey {
        &self.facts
    }

    /// The facts key encrypted to the desk key, for the store.
    pub fn wrapped_facts_key(&self) -> Result<Vec<u8>> {
        encrypt_to(&self.recipient, self.facts.0.as_ref())
    }

    /// Opens a slot with a passphrase, then the facts key with the desk key.
    pub fn open_slot(slot: &[u8], secret: &SlotSecret<'_>, wrapped_facts: &[u8]) -> Result<Self> {
        let mut identity_file = age::scrypt::Identity::new(secret.secret().clone());
        identity_file.set_max_work_factor(MAX_SCRYPT_LOG_N);
        let text = match age::decrypt(&identity_file, slot) {
            Ok(plain) => Zeroizing::new(plain),
            Err(age::DecryptError::ExcessiveWork { .. }) => {
                return Err(Error::Integrity(
                    "a key slot asks for more work than allowed",
                ));
            }
            Err(_) => return Err(secret.wrong()),
        };
        let text = std::str::from_utf8(&text)
            .map_err(|_| Error::Integrity("a key slot does not hold a key"))?;
        let identity: age::x25519::Identity = text
            .parse()
            .map_err(|_| Error::Integrity("a key slot does not hold a key"))?;
        let facts_bytes = Zeroizing::new(
            age::decrypt(&identity, wrapped_facts)
                .map_err(|_| Error::Integrity("the facts key does not open with the desk key"))?,
        );
        let facts: [u8; 32] = facts_bytes
            .as_slice()
            .try_into()
            .map_err(|_| Error::Integrity("the facts key has the wrong length"))?;
        Ok(Self {
            recipient: identity.to_public(),
            identity,
            facts: FactsKey(Zeroizing::new(facts)),
        })
    }

    /// Writes a slot: the desk key encrypted with this passphrase or code.
    pub fn make_slot(&self, secret: &SlotSecret<'_>, cost: KdfCost) -> Result<Vec<u8>> {
        let mut recipient = age::scrypt::Recipient::new(secret.secret().clone());
        if let Some(log_n) = cost.0 {
            recipient.set_work_factor(log_n);
        }
        let key_text = self.identity.to_string();
        encrypt_to(&recipient, key_text.expose_secret().as_bytes())
    }
}

/// What opens a slot: a user's passphrase or the recovery code.
pub enum SlotSecret<'a> {
    /// A user's passphrase.
    Passphrase {
        /// Whose.
        user: &'a str,
        /// The passphrase.
        passphrase: &'a Passphrase,
    },
    /// The recovery code.
    Recovery(&'a RecoveryCode),
}

impl SlotSecret<'_> {
    fn secret(&self) -> &SecretString {
        match self {
            Self::Passphrase { passphrase, .. } => passphrase.secret(),
            Self::Recovery(code) => &code.0,
        }
    }

    fn wrong(&self) -> Error {
        match self {
            Self::Passphrase { user, .. } => Error::WrongPassphrase {
                user: (*user).to_string(),
            },
            Self::Recovery(_) => Error::WrongRecoveryCode,
        }
    }
}

/// Encrypts to one age recipient (binary, `finish`ed).
pub(crate) fn encrypt_to(recipient: &dyn age::Recipient, plaintext: &[u8]) -> Result<Vec<u8>> {
    encrypt_to_each(std::iter::once(recipient), plaintext)
}

/// Encrypts to every recipient given: any one of them can decrypt.
pub(crate) fn encrypt_to_each<'a>(
    recipients: impl Iterator<Item = &'a dyn age::Recipient>,
    plaintext: &[u8],
) -> Result<Vec<u8>> {
    let encryptor =
        age::Encryptor::with_recipients(recipients).map_err(|e| Error::Crypto(e.to_string()))?;
    let mut out = Vec::with_capacity(plaintext.len() + 256);
    let mut writer = encryptor
        .wrap_output(&mut out)
        .map_err(|e| Error::Crypto(e.to_string()))?;
    writer
        .write_all(plaintext)
        .and_then(|()| writer.finish().map(|_| ()))
        .map_err(|e| Error::Crypto(e.to_string()))?;
    Ok(out)
}

/// The symmetric key that seals report facts.
pub(crate) struct FactsKey(Zeroizing<[u8; 32]>);

const NONCE_LEN: usize = 24;

impl FactsKey {
    /// Seals `plaintext`; `context` binds it to its row (id and save number)
    /// so a sealed blob moved to another row fails to open.
    pub(crate) fn seal(&self, context: &[u8], plaintext: &[u8]) -> Result<Vec<u8>> {
        let cipher = XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(self.0.as_ref()));
        let mut nonce = [0u8; NONCE_LEN];
        rand::rngs::OsRng.fill_bytes(&mut nonce);
        let sealed = cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .map_err(|_| Error::Crypto("sealing report facts failed".into()))?;
        let mut out = Vec::with_capacity(NONCE_LEN + sealed.len());
        out.extend_from_slice(&nonce);
        out.extend_from_slice(&sealed);
        Ok(out)
    }

    /// Opens what [`FactsKey::seal`] sealed with the same context.
    pub(crate) fn open(&self, context: &[u8], blob: &[u8]) -> Result<Zeroizing<Vec<u8>>> {
        if blob.len() < NONCE_LEN {
            return Err(Error::Integrity("report facts are cut short"));
        }
        let (nonce, sealed) = blob.split_at(NONCE_LEN);
        let cipher = XChaCha20Poly1305::new(chacha20poly1305::Key::from_slice(self.0.as_ref()));
        cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: sealed,
                    aad: context,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| Error::Integrity("report facts do not open for this row"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fast() -> KdfCost {
        KdfCost::fixed(MIN_SCRYPT_LOG_N).expect("valid")
    }

    #[test]
    fn a_slot_opens_with_its_passphrase_only() {
        let keys = DeskKeys::generate();
        let pass = Passphrase::new("correct horse battery".into());
        let slot = keys
            .make_slot(
                &SlotSecret::Passphrase {
                    user: "ann",
                    passphrase: &pass,
                },
                fast(),
            )
            .expect("slot");
        let facts = keys.wrapped_facts_key().expect("wrap");
        let opened = DeskKeys::open_slot(
            &slot,
            &SlotSecret::Passphrase {
                user: "ann",
                passphrase: &pass,
            },
            &facts,
        )
        .expect("opens");
        assert_eq!(opened.recipient().to_string(), keys.recipient().to_string());

        let wrong = Passphrase::new("incorrect horse".into());
        let err = DeskKeys::open_slot(
            &slot,
            &SlotSecret::Passphrase {
                user: "ann",
                passphrase: &wrong,
            },
            &facts,
        )
        .expect_err("wrong passphrase");
        assert!(matches!(err, Error::WrongPassphrase { ref user } if user == "ann"));
        // The slot holds no readable key.
        assert!(!String::from_utf8_lossy(&slot).contains("AGE-SECRET-KEY"));
    }

    #[test]
    fn recovery_codes_survive_hand_copying() {
        let code = RecoveryCode::generate();
        let shown = code.reveal().to_string();
        assert_eq!(shown.len(), 35);
        let typed = shown
            .to_lowercase()
            .replace('-', " ")
            .replace('0', "o")
            .replace('1', "l");
        let parsed = RecoveryCode::parse(&typed).expect("parses");
        assert_eq!(parsed.reveal(), shown);
        assert!(RecoveryCode::parse("ABC").is_err());
        assert!(RecoveryCode::parse(&format!("{shown}!")).is_err());

        let keys = DeskKeys::generate();
        let slot = keys
            .make_slot(&SlotSecret::Recovery(&code), fast())
            .expect("slot");
        let facts = keys.wrapped_facts_key().expect("wrap");
        DeskKeys::open_slot(&slot, &SlotSecret::Recovery(&parsed), &facts).expect("opens");
        let other = RecoveryCode::generate();
        assert!(matches!(
            DeskKeys::open_slot(&slot, &SlotSecret::Recovery(&other), &facts),
            Err(Error::WrongRecoveryCode)
        ));
    }

    #[test]
    fn facts_are_bound_to_their_row() {
        let keys = DeskKeys::generate();
        let sealed = keys.facts().seal(b"row-1", b"hello").expect("seal");
        assert_eq!(
            keys.facts()
                .open(b"row-1", &sealed)
                .expect("open")
                .as_slice(),
            b"hello"
        );
        assert!(keys.facts().open(b"row-2", &sealed).is_err());
        let mut flipped = sealed.clone();
        let last = flipped.len() - 1;
        flipped[last] ^= 1;
        assert!(keys.facts().open(b"row-1", &flipped).is_err());
    }

    #[test]
    fn passphrase_rules_and_redaction() {
        assert!(Passphrase::new("short".into()).check_new().is_err());
        assert!(Passphrase::new("          ".into()).check_new().is_err());
        assert!(
            Passphrase::new("long enough now".into())
                .check_new()
                .is_ok()
        );
        let p = Passphrase::new("CANARY-PASS".into());
        assert!(!format!("{p:?}").contains("CANARY"));
        assert!(!format!("{:?}", DeskKeys::generate()).contains("AGE-SECRET"));
        assert!(KdfCost::fixed(4).is_err());
    }
}
