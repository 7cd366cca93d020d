//! `backup` and `restore`: the embedded store and the receipt-signing key,
//! copied whole into a new folder while the hub runs, and put back into an
//! empty data directory.

use std::path::Path;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use hirc_hub::store::{HubStore, SqliteStore};
use hirc_proto::sign::{SigningKey, key_fingerprint};

use crate::cli::{BackupArgs, RestoreArgs};

const STORE_FILE: &str = "hub.sqlite3";
const KEY_FILE: &str = "receipt-signing.key";
const NOTE_FILE: &str = "BACKUP.txt";

/// `hirc-hub backup`.
pub fn backup(args: BackupArgs) -> Result<()> {
    let dir = &args.dir;
    if dir.database.is_some() {
        bail!(
            "a PostgreSQL hub is backed up with PostgreSQL's own tool: `pg_dump --format=custom --file=hub.dump URL`, with the --receipt-key file kept beside it (docs/hub.md, \"Backup and restore\")"
        );
    }
    let Some(data) = &dir.data_dir else {
        bail!("give --data-dir DIR, the hub's data directory");
    };
    if !data.join(STORE_FILE).is_file() {
        bail!(
            "there is no hub store in {} (no {STORE_FILE}): nothing to back up",
            data.display()
        );
    }
    if args.out.exists() {
        bail!(
            "{} already exists: a backup goes into a new folder, so that an older one is never mixed with it",
            args.out.display()
        );
    }
    let store = SqliteStore::open(data)?;
    hirc_files::private_dir(&args.out)
        .with_context(|| format!("could not create {}", args.out.display()))?;
    store
        .backup_to(&args.out.join(STORE_FILE))
        .context("could not copy the hub's store")?;
    let key_path = dir
        .receipt_key
        .clone()
        .unwrap_or_else(|| data.join(KEY_FILE));
    let key = if key_path.is_file() {
        hirc_files::copy_new(&key_path, &args.out.join(KEY_FILE))?;
        Some(read_key(&key_path)?)
    } else {
        None
    };
    let devices = store.devices()?;
    let revisions: i64 = devices.iter().map(|d| d.reports).sum();
    let fingerprint = key
        .as_ref()
        .map_or("none yet".to_string(), |k| key_fingerprint(&k.public()));
    let note = format!(
        "HIRC hub backup, made {} from {}.\n\
         {} desk(s) enrolled, {} report revision(s) held (ciphertext only).\n\
         Receipt-signing key fingerprint: {fingerprint}.\n\
         {KEY_FILE} is the hub's signing key: keep this folder as safe as the hub itself.\n\
         Restore into an empty data directory with:\n  hirc-hub restore --from <this folder> --data-dir <DIR>\n",
        Utc::now().to_rfc3339(),
        data.display(),
        devices.len(),
        revisions
    );
    hirc_files::write_new(&args.out.join(NOTE_FILE), note.as_bytes())?;
    if key.is_none() {
        eprintln!(
            "note: there is no receipt-signing key at {} yet (the hub makes it when it first serves); the backup holds the store only",
            key_path.display()
        );
    }
    println!(
        "Backed up {} desk(s) and {revisions} report revision(s) to {} (receipt key {fingerprint}).",
        devices.len(),
        args.out.display()
    );
    Ok(())
}

/// `hirc-hub restore`.
pub fn restore(args: RestoreArgs) -> Result<()> {
    let from_store = args.from.join(STORE_FILE);
    if !from_store.is_file() {
        bail!(
            "{} is not a hub backup: it has no {STORE_FILE} (`hirc-hub backup --out DIR` makes one)",
            args.from.display()
        );
    }
    SqliteStore::check_file(&from_store)
        .with_context(|| format!("the backup in {} cannot be restored", args.from.display()))?;
    let from_key = args.from.join(KEY_FILE);
    let key = from_key
        .is_file()
        .then(|| read_key(&from_key))
        .transpose()?;
    let data = &args.data_dir;
    let (to_store, to_key) = (data.join(STORE_FILE), data.join(KEY_FILE));
    for existing in [&to_store, &to_key] {
        if existing.exists() {
            bail!(
                "{} already exists: restore into an empty data directory (move the old one aside first); nothing was changed",
                existing.display()
            );
        }
    }
    hirc_files::private_dir(data)
        .with_context(|| format!("could not create {}", data.display()))?;
    if key.is_some() {
        hirc_files::copy_new(&from_key, &to_key)?;
    }
    if let Err(e) = hirc_files::copy_new(&from_store, &to_store) {
        let _ = std::fs::remove_file(&to_key);
        return Err(e.into());
    }
    // Opening brings a backup from an older hub up to this one's schema.
    let store = SqliteStore::open(data)?;
    let devices = store.devices()?;
    let revisions: i64 = devices.iter().map(|d| d.reports).sum();
    println!(
        "Restored {} desk(s) and {revisions} report revision(s) into {}{}.",
        devices.len(),
        data.display(),
        key.map_or(String::new(), |k| format!(
            ", with the receipt-signing key {}",
            key_fingerprint(&k.public())
        ))
    );
    Ok(())
}

fn read_key(path: &Path) -> Result<SigningKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read {}", path.display()))?;
    super::key_from(&text)
        .ok_or_else(|| anyhow::anyhow!("{} is not a receipt-signing key file", path.display()))
}
