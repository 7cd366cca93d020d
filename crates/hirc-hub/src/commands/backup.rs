//! `backup` and `restore`: the hub's store and its receipt-signing key,
//! copied whole into a new folder while the hub runs, and put back into an
//! empty data directory or database.
//!
//! The embedded store is copied by SQLite (`VACUUM INTO`); a PostgreSQL
//! store by PostgreSQL's own `pg_dump` and `pg_restore`, which must be
//! installed (Debian: postgresql-client).

use std::path::Path;
use std::process::Command;

use anyhow::{Context, Result, bail};
use chrono::Utc;
use hirc_hub::pg_store::PgStore;
use hirc_hub::sqlite_store::SqliteStore;
use hirc_hub::store::HubStore;
use hirc_proto::sign::{SigningKey, key_fingerprint};

use crate::cli::{BackupArgs, RestoreArgs};

const STORE_FILE: &str = "hub.sqlite3";
const DUMP_FILE: &str = "hub.dump";
const KEY_FILE: &str = "receipt-signing.key";
const NOTE_FILE: &str = "BACKUP.txt";

/// `hirc-hub backup`.
pub async fn backup(args: BackupArgs) -> Result<()> {
    let dir = &args.dir;
    let key_path = match (&dir.receipt_key, &dir.data_dir, &dir.database) {
        (Some(key), _, _) => key.clone(),
        (None, Some(data), None) => data.join(KEY_FILE),
        (None, _, Some(_)) => bail!(
            "give --receipt-key FILE, the key every hub process on this database signs with: a backup without it cannot be restored into a hub that desks trust"
        ),
        (None, None, None) => {
            bail!("give --data-dir DIR (embedded SQLite) or --database postgres://…")
        }
    };
    if let Some(url) = &dir.database {
        require_url(url)?;
    }
    if args.out.exists() {
        bail!(
            "{} already exists: a backup goes into a new folder, so that an older one is never mixed with it",
            args.out.display()
        );
    }
    // Written into OUT.partial and renamed once whole: a folder named OUT
    // is always a complete backup, whatever stopped this one.
    let partial = partial_of(&args.out);
    if partial.exists() {
        bail!(
            "{} is left from a backup that was cut short: delete it, then back up again",
            partial.display()
        );
    }
    let work = partial.as_path();
    let made: Result<(u64, u64, String)> = async {
            // The store is read as it is, never migrated: the hubs serving it may
            // be an older version than this command.
            let held = match (&dir.database, &dir.data_dir) {
                (Some(url), _) => {
                    // The note's counts and the dump are of the same moment.
                    let snapshot = PgStore::snapshot(url)
                        .await
                        .context("could not read the PostgreSQL database")?;
                    make_folder(work)?;
                    let dumped = dump(url, &work.join(DUMP_FILE), &snapshot.id);
                    let held = snapshot.held;
                    snapshot.close().await;
                    dumped?;
                    held
                }
                (None, Some(data)) => {
                    if !data.join(STORE_FILE).is_file() {
                        bail!(
                            "there is no hub store in {} (no {STORE_FILE}): nothing to back up",
                            data.display()
                        );
                    }
                    make_folder(work)?;
                    SqliteStore::back_up(data, &work.join(STORE_FILE))
                        .context("could not copy the hub's store")?
                }
                (None, None) => unreachable!("checked above"),
            };
            let key = if key_path.is_file() {
                hirc_files::copy_new(&key_path, &work.join(KEY_FILE))?;
                Some(read_key(&key_path)?)
            } else if held.desks > 0 {
                // Desks have pinned it: a backup without it restores a hub they
                // would refuse. Say so now, not on the day of the restore.
                bail!(
                    "the receipt-signing key {} is not there, but desks are enrolled and have pinned it: give --receipt-key FILE (the file the hub signs with); nothing was kept",
                    key_path.display()
                );
            } else {
                None
            };
            let (desks, revisions) = (held.desks, held.revisions);
            let fingerprint = key
                .as_ref()
                .map_or("none yet".to_string(), |k| key_fingerprint(&k.public()));
            let source = match (&dir.database, &dir.data_dir) {
                (Some(_), _) => "a PostgreSQL database".to_string(),
                (None, Some(data)) => data.display().to_string(),
                (None, None) => unreachable!("checked above"),
            };
            let restore = if dir.database.is_some() {
                "hirc-hub restore --from <this folder> --database <URL of an empty database> --receipt-key <FILE>"
            } else {
                "hirc-hub restore --from <this folder> --data-dir <DIR>"
            };
            let note = format!(
                "HIRC hub backup, made {} from {source}.\n\
                 {} desk(s) enrolled, {} report revision(s) held (ciphertext only).\n\
                 Receipt-signing key fingerprint: {fingerprint}.\n\
                 {KEY_FILE} is the hub's signing key: keep this folder as safe as the hub itself.\n\
                 Restore with:\n  {restore}\n",
                Utc::now().to_rfc3339(),
                desks,
                revisions
            );
            hirc_files::write_new(&work.join(NOTE_FILE), note.as_bytes())?;
            if key.is_none() {
                eprintln!(
                    "note: there is no receipt-signing key at {} yet (the hub makes it when it first serves); the backup holds the store only",
                    key_path.display()
                );
            }
        Ok((desks, revisions, fingerprint))
    }
    .await;
    let (desks, revisions, fingerprint) = match made {
        Ok(made) => made,
        Err(e) => {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(e);
        }
    };
    std::fs::rename(&partial, &args.out).with_context(|| {
        format!(
            "could not rename {} to {}",
            partial.display(),
            args.out.display()
        )
    })?;
    if let Some(parent) = args.out.parent().filter(|p| !p.as_os_str().is_empty()) {
        // The rename itself survives a power cut.
        let _ = std::fs::File::open(parent).and_then(|d| d.sync_all());
    }
    println!(
        "Backed up {desks} desk(s) and {revisions} report revision(s) to {} (receipt key {fingerprint}).",
        args.out.display()
    );
    Ok(())
}

/// `hirc-hub restore`.
pub async fn restore(args: RestoreArgs) -> Result<()> {
    let from_key = args.from.join(KEY_FILE);
    let key = from_key
        .is_file()
        .then(|| read_key(&from_key))
        .transpose()?;
    let store: Box<dyn HubStore> = match (&args.database, &args.data_dir) {
        (Some(url), _) => {
            let dump_file = args.from.join(DUMP_FILE);
            if !dump_file.is_file() {
                bail!(
                    "{} is not a PostgreSQL hub backup: it has no {DUMP_FILE} (`hirc-hub backup --database URL --out DIR` makes one)",
                    args.from.display()
                );
            }
            let Some(to_key) = &args.receipt_key else {
                bail!(
                    "give --receipt-key FILE: where to put the backup's receipt-signing key for the hub processes on this database"
                );
            };
            if key.is_some() && to_key.exists() {
                bail!(
                    "{} already exists: the key is restored to a new file; nothing was changed",
                    to_key.display()
                );
            }
            require_url(url)?;
            require_empty(url)?;
            // The key first: a restore that fails takes it away again, so
            // nothing is left half done.
            if key.is_some() {
                hirc_files::copy_new(&from_key, to_key)?;
            }
            if let Err(e) = restore_dump(url, &dump_file) {
                if key.is_some() {
                    let _ = std::fs::remove_file(to_key);
                }
                return Err(e);
            }
            // Connecting brings a dump from an older hub up to this one's
            // schema.
            Box::new(
                PgStore::connect(url)
                    .await
                    .context("could not use the PostgreSQL database")?,
            )
        }
        (None, Some(data)) => restore_file(&args.from, data, key.is_some())?,
        (None, None) => bail!("give --data-dir DIR, or --database URL for a PostgreSQL backup"),
    };
    let devices = store.devices().await?;
    let revisions: i64 = devices.iter().filter_map(|d| d.reports).sum();
    let into = match (&args.database, &args.data_dir) {
        (Some(_), _) => "the PostgreSQL database".to_string(),
        (None, Some(data)) => data.display().to_string(),
        (None, None) => unreachable!("checked above"),
    };
    println!(
        "Restored {} desk(s) and {revisions} report revision(s) into {into}{}.",
        devices.len(),
        key.map_or(String::new(), |k| format!(
            ", with the receipt-signing key {}",
            key_fingerprint(&k.public())
        ))
    );
    Ok(())
}

/// Puts an embedded store's backup into `data`, refusing to go over
/// anything and checking the backup first.
fn restore_file(from: &Path, data: &Path, with_key: bool) -> Result<Box<dyn HubStore>> {
    let from_store = from.join(STORE_FILE);
    if !from_store.is_file() {
        bail!(
            "{} is not a hub backup: it has no {STORE_FILE} (`hirc-hub backup --out DIR` makes one)",
            from.display()
        );
    }
    SqliteStore::check_file(&from_store)
        .with_context(|| format!("the backup in {} cannot be restored", from.display()))?;
    let (to_store, to_key) = (data.join(STORE_FILE), data.join(KEY_FILE));
    // SQLite's files beside a store (its log after a crash) would be
    // replayed over the restored one: none may be there either.
    let beside: Vec<std::path::PathBuf> = ["-wal", "-shm", "-journal"]
        .iter()
        .map(|suffix| data.join(format!("{STORE_FILE}{suffix}")))
        .collect();
    for existing in [&to_store, &to_key].into_iter().chain(&beside) {
        if existing.exists() {
            bail!(
                "{} already exists: restore into an empty data directory (move the old one aside first); nothing was changed",
                existing.display()
            );
        }
    }
    hirc_files::private_dir(data)
        .with_context(|| format!("could not create {}", data.display()))?;
    if with_key {
        hirc_files::copy_new(&from.join(KEY_FILE), &to_key)?;
    }
    if let Err(e) = hirc_files::copy_new(&from_store, &to_store) {
        let _ = std::fs::remove_file(&to_key);
        return Err(e.into());
    }
    // Opening brings a backup from an older hub up to this one's schema.
    Ok(Box::new(SqliteStore::open(data)?))
}

/// Where a backup is written until it is whole: `OUT.partial` beside `OUT`.
fn partial_of(out: &Path) -> std::path::PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(".partial");
    out.with_file_name(name)
}

fn make_folder(out: &Path) -> Result<()> {
    hirc_files::private_dir(out).with_context(|| format!("could not create {}", out.display()))
}

/// A PostgreSQL URL split into the URL without its password, and the
/// password (given to the tools in their environment, never on a command
/// line another user could read).
fn without_password(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_string(), None);
    };
    let (authority, tail) = rest.split_at(rest.find(['/', '?']).unwrap_or(rest.len()));
    let (userinfo, host) = match authority.rsplit_once('@') {
        Some((userinfo, host)) => (Some(userinfo), host),
        None => (None, authority),
    };
    let (user, password) = match userinfo.map(|u| u.split_once(':').ok_or(u)) {
        Some(Ok((user, password))) => (Some(user), Some(percent_decode(password))),
        Some(Err(user)) => (Some(user), None),
        None => (None, None),
    };
    // A password may also come as a parameter (`?password=…`).
    let (path, query) = tail.split_once('?').unwrap_or((tail, ""));
    let mut from_query = None;
    let kept: Vec<&str> = query
        .split('&')
        .filter(|p| !p.is_empty())
        .filter(|p| match p.strip_prefix("password=") {
            Some(value) => {
                from_query = Some(percent_decode(value));
                false
            }
            None => true,
        })
        .collect();
    let tail = if kept.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{}", kept.join("&"))
    };
    let user = user.map_or(String::new(), |u| format!("{u}@"));
    (
        format!("{scheme}://{user}{host}{tail}"),
        password.or(from_query),
    )
}

/// Only a `postgres://` URL is passed to PostgreSQL's tools (a key=value
/// string would carry its password onto their command line).
fn require_url(url: &str) -> Result<()> {
    if !(url.starts_with("postgres://") || url.starts_with("postgresql://")) {
        bail!("--database takes a postgres:// URL");
    }
    Ok(())
}

fn percent_decode(text: &str) -> String {
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: u8| (b as char).to_digit(16);
        match (bytes[i], bytes.get(i + 1), bytes.get(i + 2)) {
            (b'%', Some(&h), Some(&l)) if hex(h).is_some() && hex(l).is_some() => {
                out.push((hex(h).unwrap_or(0) * 16 + hex(l).unwrap_or(0)) as u8);
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Runs one of PostgreSQL's tools with the database's URL (its password in
/// the environment); returns what it printed.
fn run_tool(tool: &str, url: &str, args: &[&str]) -> Result<String> {
    let (url, password) = without_password(url);
    let mut command = Command::new(tool);
    command.args(args).arg(format!("--dbname={url}"));
    if let Some(password) = password {
        command.env("PGPASSWORD", password);
    }
    let out = command.output().map_err(|e| {
        if e.kind() == std::io::ErrorKind::NotFound {
            anyhow::anyhow!(
                "{tool} was not found: install PostgreSQL's client tools (Debian: postgresql-client)"
            )
        } else {
            anyhow::anyhow!("could not run {tool}: {e}")
        }
    })?;
    if !out.status.success() {
        bail!(
            "{tool} failed: {}",
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

/// `pg_dump` in PostgreSQL's own format into `file`, a new owner-only file:
/// the database as it was in `snapshot` (exported by a transaction held
/// open meanwhile).
fn dump(url: &str, file: &Path, snapshot: &str) -> Result<()> {
    hirc_files::create_new(file).with_context(|| format!("could not create {}", file.display()))?;
    let dumped = run_tool(
        "pg_dump",
        url,
        &[
            "--format=custom",
            "--no-owner",
            "--no-privileges",
            &format!("--snapshot={snapshot}"),
            &format!("--file={}", file.display()),
        ],
    );
    if dumped.is_err() {
        let _ = std::fs::remove_file(file);
    }
    dumped.map(drop)
}

/// `pg_restore` of `file` in one transaction: all of it or nothing.
fn restore_dump(url: &str, file: &Path) -> Result<()> {
    run_tool(
        "pg_restore",
        url,
        &[
            "--no-owner",
            "--no-privileges",
            "--single-transaction",
            "--exit-on-error",
            &file.display().to_string(),
        ],
    )
    .map(drop)
    .context("the backup could not be restored; the database was left as it was")
}

/// Refuses a database that already holds a hub (or anything else in its
/// public schema): a restore never mixes two hubs' data.
fn require_empty(url: &str) -> Result<()> {
    let tables: u64 = run_tool(
        "psql",
        url,
        &[
            "--no-psqlrc",
            "--tuples-only",
            "--no-align",
            "--command=SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
        ],
    )
    .context("could not reach the database")?
    .trim()
    .parse()
    .unwrap_or(u64::MAX);
    if tables != 0 {
        bail!(
            "the database is not empty ({tables} tables): restore into a new, empty database; nothing was changed"
        );
    }
    Ok(())
}

fn read_key(path: &Path) -> Result<SigningKey> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("could not read {}", path.display()))?;
    super::key_from(&text)
        .ok_or_else(|| anyhow::anyhow!("{} is not a receipt-signing key file", path.display()))
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;

    #[test]
    fn the_password_goes_to_the_environment_not_the_command_line() {
        assert_eq!(
            without_password("postgres://hirc:s%40cret:x@db.example:5432/hub?sslmode=require"),
            (
                "postgres://hirc@db.example:5432/hub?sslmode=require".to_string(),
                Some("s@cret:x".to_string())
            )
        );
        assert_eq!(
            without_password("postgres://hirc@localhost/hub"),
            ("postgres://hirc@localhost/hub".to_string(), None)
        );
        assert_eq!(
            without_password("postgres://hirc@db/hub?sslmode=require&password=p%26w&x=1"),
            (
                "postgres://hirc@db/hub?sslmode=require&x=1".to_string(),
                Some("p&w".to_string())
            )
        );
        assert_eq!(
            without_password("postgresql://localhost/hub?password=x"),
            (
                "postgresql://localhost/hub".to_string(),
                Some("x".to_string())
            )
        );
        assert!(require_url("host=db password=secret").is_err());
    }

    #[tokio::test]
    async fn a_backup_folder_is_never_reused() {
        let dir = tempfile::tempdir().expect("tmp");
        let out: PathBuf = dir.path().to_path_buf();
        let err = backup(BackupArgs {
            dir: crate::cli::DataDir {
                data_dir: Some(dir.path().join("hub")),
                ..Default::default()
            },
            out,
        })
        .await
        .expect_err("exists");
        assert!(err.to_string().contains("already exists"), "{err}");
    }
}
