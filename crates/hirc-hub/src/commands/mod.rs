//! One module per group of commands, each a few lines over the library;
//! here, what most of them share: the hub's store and its receipt-signing
//! key.

pub mod backup;
pub mod devices;
pub mod enrol;
pub mod export;
pub mod import;
pub mod serve;
pub mod status;
pub mod sweep;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use hirc_hub::pg_store::PgStore;
use hirc_hub::sqlite_store::SqliteStore;
use hirc_hub::store::HubStore;
use hirc_proto::sign::{SigningKey, key_fingerprint};

use crate::cli::{Command, DataDir};

/// Runs one command, on one runtime for the whole command (the PostgreSQL
/// store's connections live on it).
pub fn run(command: Command) -> Result<()> {
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        match command {
            Command::Keygen { out } => export::keygen(&out),
            Command::Serve { config, settings } => serve::run(config.as_deref(), settings).await,
            Command::Enrol(args) => enrol::run(args).await,
            Command::Import(args) => import::run(args).await,
            Command::Devices { dir, json } => devices::list(&dir, json).await,
            Command::Revoke { dir, device } => devices::revoke(&dir, device).await,
            Command::Export(args) => export::run(args).await,
            Command::Status(crate::cli::StatusCommand::Set(args)) => status::set(args).await,
            Command::Sweep(args) => sweep::run(args).await,
            Command::Backup(args) => backup::backup(args).await,
            Command::Restore(args) => backup::restore(args).await,
        }
    })
}

/// The hub's store: PostgreSQL when a database is given, else the embedded
/// SQLite in the data directory.
pub async fn open(dir: &DataDir) -> Result<Box<dyn HubStore>> {
    match (&dir.database, &dir.data_dir) {
        (Some(url), _) => {
            if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
                bail!("--database takes a postgres:// URL");
            }
            Ok(Box::new(
                PgStore::connect(url)
                    .await
                    .context("could not use the PostgreSQL database")?,
            ))
        }
        (None, Some(path)) => Ok(Box::new(SqliteStore::open(path)?)),
        (None, None) => bail!("give --data-dir DIR (embedded SQLite) or --database postgres://…"),
    }
}

/// The hub's receipt-signing key, read from its file or made there on first
/// use. Desks pin its public half at enrolment; losing it means enrolling
/// every desk again, so back the file up with the store.
pub async fn receipt_key(dir: &DataDir, store: &dyn HubStore) -> Result<SigningKey> {
    let path = match (&dir.receipt_key, &dir.data_dir) {
        (Some(path), _) => path.clone(),
        (None, Some(data)) => data.join("receipt-signing.key"),
        (None, None) => bail!(
            "give --receipt-key FILE: with --database, every hub process (and `hirc-hub import`) must sign receipts with the same key file"
        ),
    };
    match std::fs::read_to_string(&path) {
        Ok(text) => key_from(&text)
            .ok_or_else(|| anyhow::anyhow!("{} is not a receipt-signing key file", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            // Desks have pinned the key that was here: a new one silently
            // would make every desk refuse every receipt.
            if !dir.new_receipt_key && !store.devices().await?.is_empty() {
                bail!(
                    "the receipt-signing key {} is missing, but desks are enrolled with this hub and have pinned it: restore it from the hub's backup (or, to start again with a new key that every desk must be enrolled again to accept, pass --new-receipt-key)",
                    path.display()
                );
            }
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                hirc_files::private_dir(parent)
                    .with_context(|| format!("could not create {}", parent.display()))?;
            }
            let key = SigningKey::generate();
            let text = format!(
                "# HIRC hub receipt-signing key, created {}\n# Desks pin its public half ({}); keep this file with the hub's backups.\n{}\n",
                Utc::now().to_rfc3339(),
                key.public(),
                key.secret_base64().as_str()
            );
            hirc_files::write_new(&path, text.as_bytes())?;
            tracing::info!(path = %path.display(), fingerprint = %key_fingerprint(&key.public()), "made a new receipt-signing key");
            Ok(key)
        }
        Err(e) => Err(anyhow::anyhow!("could not read {}: {e}", path.display())),
    }
}

/// The key in a receipt-signing key file's text (comment lines skipped).
pub fn key_from(text: &str) -> Option<SigningKey> {
    text.lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with('#'))
        .and_then(SigningKey::from_secret_base64)
}
