//! The hub credential: the device id and bearer token the sync worker
//! uploads with. It lives in an owner-only file beside the store, outside
//! the desk key, so reports go up whenever a connection exists, with nobody
//! signed in.
//!
//! What it can and cannot do is in docs/threat-model.md: a stolen
//! credential can upload junk as this desk until the partnership revokes
//! it; it opens nothing, and nothing stored at the hub can be changed with
//! it. The operating system's keyring was considered and not used: a
//! keyring that is locked until someone logs in would stop exactly the
//! uploads this file exists for, and a desk without one (a kiosk) would
//! need this file anyway.

use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use uuid::Uuid;
use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// The file's name in the data directory.
pub const CREDENTIAL_FILE: &str = "hub-credential.json";
const FORMAT: &str = "hirc-hub-credential";
/// Larger than any credential: a bigger file is not one.
const MAX_BYTES: u64 = 4096;

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    format: String,
    device_id: Uuid,
    token: String,
}

/// The device id and token, read from the file.
pub(crate) struct Credential {
    pub(crate) device_id: Uuid,
    pub(crate) token: Zeroizing<String>,
}

fn path(dir: &Path) -> PathBuf {
    dir.join(CREDENTIAL_FILE)
}

/// Writes the credential (owner-only, in full or not at all: a new file is
/// renamed over the old one).
pub(crate) fn write(dir: &Path, device_id: Uuid, token: &str) -> Result<()> {
    let text = Zeroizing::new(
        serde_json::to_string(&File {
            format: FORMAT.into(),
            device_id,
            token: token.into(),
        })
        .map_err(|e| Error::Crypto(e.to_string()))?,
    );
    hirc_files::write_atomically(&path(dir), text.as_bytes())
        .map_err(|e| Error::io("could not write the hub credential file", e))?;
    // Versions before hirc-files wrote through `NAME.new`: one a crash left
    // behind holds a token, and nothing else would ever remove it.
    let mut older = path(dir).into_os_string();
    older.push(".new");
    let _ = std::fs::remove_file(older);
    Ok(())
}

/// Reads the credential; `None` if there is no file.
pub(crate) fn read(dir: &Path) -> Result<Option<Credential>> {
    let file = path(dir);
    let meta = match std::fs::metadata(&file) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(Error::io("could not read the hub credential file", e)),
    };
    let unreadable = || {
        Error::InvalidInput(format!(
            "{} is not a hub credential; enrol the desk again to replace it",
            file.display()
        ))
    };
    if meta.len() > MAX_BYTES {
        return Err(unreadable());
    }
    let bytes = Zeroizing::new(
        std::fs::read(&file).map_err(|e| Error::io("could not read the hub credential file", e))?,
    );
    let parsed: File = serde_json::from_slice(&bytes).map_err(|_| unreadable())?;
    if parsed.format != FORMAT {
        return Err(unreadable());
    }
    Ok(Some(Credential {
        device_id: parsed.device_id,
        token: Zeroizing::new(parsed.token),
    }))
}
