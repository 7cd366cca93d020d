//! Enrolment with a hub: the link, the device key, the upload credentials
//! and the pinned receipt key.

use hirc_proto::content_digest;
use hirc_proto::sign::{SigningKey, is_public_key};
use rusqlite::{OptionalExtension, params};
use uuid::Uuid;
use zeroize::Zeroizing;

use super::*;
use crate::audit::{self, AuditAction};
use crate::columns::{Columns, TextId};
use crate::credential;
use crate::desk::{Desk, Session, require_coordinator};
use crate::error::{Error, Result};
use crate::vault::encrypt_to;

/// Every undelivered payload's digests so far (earlier ones and the
/// current one), as they are about to be made again.
pub(super) fn superseded_digests(
    tx: &rusqlite::Transaction<'_>,
) -> Result<Vec<(String, i64, String)>> {
    let mut stmt = tx.prepare(
        "SELECT report_id, revision, payload, earlier_digests FROM outbox
         WHERE delivered_at IS NULL AND payload IS NOT NULL",
    )?;
    let rows = stmt.query_map([], |r| {
        Ok((
            r.get::<_, String>(0)?,
            r.get::<_, i64>(1)?,
            r.get::<_, Vec<u8>>(2)?,
            r.get::<_, String>(3)?,
        ))
    })?;
    let mut out = Vec::new();
    for row in rows {
        let (id, revision, payload, earlier) = row?;
        let mut digests: Vec<String> = serde_json::from_str(&earlier).unwrap_or_default();
        digests.push(content_digest(&payload));
        let json = serde_json::to_string(&digests).map_err(|e| Error::Crypto(e.to_string()))?;
        out.push((id, revision, json));
    }
    Ok(out)
}

pub(super) type LinkRow = (
    String,
    String,
    Uuid,
    String,
    Option<String>,
    DateTime<Utc>,
    Option<String>,
    String,
);

impl Desk {
    /// The hub this desk is enrolled with, if any (no unlock needed).
    pub fn hub(&self) -> Result<Option<HubLink>> {
        let row: Option<LinkRow> = self
            .db()
            .query_row(
                "SELECT url, hub_name, device_id, recipients, ca_pem, enrolled_at, receipt_key,
                        former_devices
                 FROM hub",
                [],
                |r| {
                    Ok((
                        r.get(0)?,
                        r.get(1)?,
                        r.id(2)?,
                        r.get(3)?,
                        r.get(4)?,
                        r.time(5)?,
                        r.get(6)?,
                        r.get(7)?,
                    ))
                },
            )
            .optional()?;
        row.map(
            |(url, hub_name, device_id, recipients, ca_pem, enrolled_at, receipt_key, former)| {
                Ok(HubLink {
                    url,
                    hub_name,
                    device_id,
                    recipients: serde_json::from_str(&recipients)
                        .map_err(|_| Error::Integrity("the hub's recipients are unreadable"))?,
                    ca_pem,
                    enrolled_at,
                    receipt_key,
                    former_devices: serde_json::from_str(&former).map_err(|_| {
                        Error::Integrity("the desk's earlier device ids are unreadable")
                    })?,
                })
            },
        )
        .transpose()
    }

    /// The link and the token the sync worker uploads with (no unlock
    /// needed); `None` before enrolment.
    pub fn upload_credentials(&self) -> Result<Option<UploadCredentials>> {
        let Some(link) = self.hub()? else {
            return Ok(None);
        };
        match credential::read(self.data_dir())? {
            Some(c) if c.device_id == link.device_id => Ok(Some(UploadCredentials {
                link,
                token: c.token,
            })),
            _ => Err(Error::CredentialMissing),
        }
    }

    /// The device this desk is enrolled as now, with its token, for a new
    /// enrolment at `url` to prove it is the same desk: only for a desk
    /// from before device keys (the hub does not know its key yet), and
    /// only to the hub it is enrolled with (the token goes nowhere else).
    pub fn previous_device(&self, url: &str) -> Option<hirc_proto::PreviousDevice> {
        let registered: bool = self
            .db()
            .query_row("SELECT device_key_registered FROM hub", [], |r| r.get(0))
            .ok()?;
        if registered {
            return None;
        }
        let creds = self.upload_credentials().ok().flatten()?;
        (creds.link.url.trim_end_matches('/') == url.trim_end_matches('/')).then(|| {
            hirc_proto::PreviousDevice {
                device_id: creds.link.device_id,
                token: creds.token().to_string(),
            }
        })
    }

    /// A desk enrolled before the credential file kept its token encrypted
    /// to the desk key: the first unlock moves it out, so uploads need no
    /// one signed in from then on.
    pub(crate) fn move_token_out(&mut self, s: &Session) -> Result<()> {
        let row: Option<(TextId, Vec<u8>)> = self
            .db()
            .query_row("SELECT device_id, token FROM hub", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .optional()?;
        let Some((device, sealed)) = row else {
            return Ok(());
        };
        if sealed.is_empty() {
            return Ok(());
        }
        let TextId(device) = device;
        let plain = Zeroizing::new(
            age::decrypt(s.keys.identity(), &sealed)
                .map_err(|_| Error::Integrity("the hub token does not open with the desk key"))?,
        );
        let token = std::str::from_utf8(&plain)
            .map_err(|_| Error::Integrity("the hub token is not text"))?;
        credential::write(self.data_dir(), device, token)?;
        self.write(|tx| {
            tx.execute("UPDATE hub SET token = x''", [])?;
            Ok(())
        })?;
        self.scrub()?;
        tracing::info!("the upload token moved to the credential file");
        Ok(())
    }

    /// Whether a follow-up revision (2 and on) waits to be sent.
    fn follow_up_waiting(&self) -> Result<bool> {
        Ok(self.db().query_row(
            "SELECT EXISTS (SELECT 1 FROM outbox WHERE revision > 1 AND delivered_at IS NULL)",
            [],
            |r| r.get(0),
        )?)
    }

    /// The desk's device key, made on first use and kept across enrolments
    /// (coordinators: it registers the desk with a hub and signs outbox
    /// files).
    pub fn device_key(&mut self, s: &Session) -> Result<SigningKey> {
        self.check_session(s)?;
        require_coordinator(s, "using the desk's device key")?;
        let stored: Option<Vec<u8>> =
            self.db()
                .query_row("SELECT device_key FROM desk", [], |r| r.get(0))?;
        if let Some(sealed) = stored {
            let plain =
                Zeroizing::new(age::decrypt(s.keys.identity(), &sealed).map_err(|_| {
                    Error::Integrity("the device key does not open with the desk key")
                })?);
            return std::str::from_utf8(&plain)
                .ok()
                .and_then(SigningKey::from_secret_base64)
                .ok_or(Error::Integrity("the device key is not a key"));
        }
        let key = SigningKey::generate();
        self.store_device_key(s, &key)?;
        Ok(key)
    }

    pub(crate) fn store_device_key(&mut self, s: &Session, key: &SigningKey) -> Result<()> {
        let sealed = encrypt_to(s.keys.recipient(), key.secret_base64().as_bytes())?;
        self.write(|tx| {
            tx.execute("UPDATE desk SET device_key = ?1", [sealed])?;
            Ok(())
        })
    }

    /// Records an enrolment (coordinators only): pins the hub's recipients
    /// and receipt key, keeps the token in the credential file, and
    /// prepares every waiting payload. Enrolling again with other keys
    /// needs `replace_keys`: reports not yet delivered are then encrypted
    /// again, for the new recipients.
    pub fn enrol(&mut self, s: &Session, e: &Enrolment<'_>, replace_keys: bool) -> Result<usize> {
        self.check_session(s)?;
        require_coordinator(s, "enrolling the desk with a hub")?;
        if e.recipients.is_empty() {
            return Err(Error::InvalidInput(
                "the hub gave no recipients to encrypt reports to".into(),
            ));
        }
        for r in e.recipients {
            r.parse::<age::x25519::Recipient>().map_err(|_| {
                Error::InvalidInput("the hub gave a recipient that is not an age public key".into())
            })?;
        }
        let receipt_key = match e.receipt_key {
            Some(k) if is_public_key(k) => k.trim().to_string(),
            Some(_) => {
                return Err(Error::InvalidInput(
                    "the hub gave a receipt key that is not a key".into(),
                ));
            }
            None => {
                return Err(Error::InvalidInput(
                    "the hub gave no receipt key: it is older than this desk, so its receipts cannot be checked; upgrade the hub".into(),
                ));
            }
        };
        if e.token.trim().is_empty() {
            return Err(Error::InvalidInput("the hub gave no token".into()));
        }
        let mut recipients = e.recipients.to_vec();
        recipients.sort();
        recipients.dedup();
        let old = self.hub()?;
        let (changed, mut former) = match &old {
            Some(old) => {
                let mut before = old.recipients.clone();
                before.sort();
                let key_changed = old.receipt_key.as_deref().is_some_and(|k| k != receipt_key);
                if (before != recipients || key_changed) && !replace_keys {
                    return Err(Error::RecipientsChanged);
                }
                let changed = before != recipients;
                // New recipients mean waiting payloads are made again from
                // the body each report holds now, which is its latest
                // revision's: an earlier revision (or one holding only what
                // was new) still waiting would be lost.
                if changed && self.follow_up_waiting()? {
                    return Err(Error::InvalidInput(
                        "a follow-up of a report is still waiting to be sent (or the hub refused it: `hirc status` says why): it can only be encrypted for the keys it was sealed for, so deliver it (hirc sync, or an outbox file) before replacing the partnership's keys".into(),
                    ));
                }
                (changed, old.former_devices.clone())
            }
            None => (false, Vec::new()),
        };
        if let Some(old) = &old
            && old.device_id != e.device_id
            && !former.contains(&old.device_id)
        {
            former.push(old.device_id);
        }
        if let Some(key) = e.device_key {
            self.store_device_key(s, key)?;
        }

        let registered = e.device_key.is_some()
            || self
                .db()
                .query_row("SELECT device_key IS NOT NULL FROM desk", [], |r| {
                    r.get::<_, bool>(0)
                })?;
        // The token goes to the credential file first: if the store's
        // transaction then failed, the file names a device the store does
        // not, and the worker asks for the enrolment to be repeated.
        credential::write(self.data_dir(), e.device_id, e.token)?;
        let recipients_json =
            serde_json::to_string(&recipients).map_err(|e| Error::Crypto(e.to_string()))?;
        let former_json =
            serde_json::to_string(&former).map_err(|e| Error::Crypto(e.to_string()))?;
        let user = s.user().name.clone();
        let now = self.now_text();
        self.write(|tx| {
            tx.execute("DELETE FROM hub", [])?;
            tx.execute(
                "INSERT INTO hub (singleton, url, hub_name, device_id, token, recipients, ca_pem, enrolled_at,
                                  receipt_key, former_devices, device_key_registered)
                 VALUES (1, ?1, ?2, ?3, x'', ?4, ?5, ?6, ?7, ?8, ?9)",
                params![e.url, e.hub_name, e.device_id.to_string(), recipients_json, e.ca_pem, now,
                        receipt_key, former_json, registered],
            )?;
            if changed {
                // Payloads about to be made again keep their digests (read
                // under this transaction's lock): the hub may hold them
                // already, and a receipt for them is still this desk's.
                for (id, revision, digests) in superseded_digests(tx)? {
                    tx.execute(
                        "UPDATE outbox SET earlier_digests = ?1 WHERE report_id = ?2 AND revision = ?3",
                        params![digests, id, revision],
                    )?;
                }
                tx.execute(
                    "UPDATE outbox SET payload = NULL, attempts = 0, next_attempt_at = NULL, last_error = NULL,
                            failed_permanently = 0
                     WHERE delivered_at IS NULL",
                    [],
                )?;
            }
            // An erasure the hub refused (a desk enrolled before device
            // keys, a revoked device) is sent again under this enrolment.
            tx.execute(
                "UPDATE erasures SET refused = 0 WHERE receipt IS NULL",
                [],
            )?;
            audit::append(tx, Some(&user), AuditAction::Enrolled, Some(e.hub_name), Some(&e.device_id.to_string()))
        })?;
        // The token of an earlier enrolment goes from every file.
        self.scrub()?;
        self.sign_pending_erasures(s)?;
        self.prepare_uploads(s)
    }

    /// Pins the hub's receipt key for a desk enrolled before receipts were
    /// signed, on first sight over its authenticated connection (no unlock
    /// needed; audited). A key already pinned is never replaced this way.
    pub fn pin_receipt_key(&mut self, key: &str) -> Result<bool> {
        if !is_public_key(key) {
            return Err(Error::InvalidInput(
                "the hub gave a receipt key that is not a key".into(),
            ));
        }
        let key = key.trim().to_string();
        let pinned = self.write(|tx| {
            let n = tx.execute(
                "UPDATE hub SET receipt_key = ?1 WHERE receipt_key IS NULL",
                [&key],
            )?;
            if n == 1 {
                audit::append(
                    tx,
                    None,
                    AuditAction::SettingChanged,
                    Some("receipt_key"),
                    Some("pinned on first sight (enrolled before receipts were signed)"),
                )?;
            }
            Ok(n == 1)
        })?;
        if pinned {
            tracing::info!("the hub's receipt key is pinned");
        }
        Ok(pinned)
    }
}
