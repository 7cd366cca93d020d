//! The desk's SQLite file: opening it safely, its pragmas, and migrations.
//!
//! One function ([`configure`]) sets every pragma, so every connection
//! behaves the same. Opening never creates or overwrites anything: a missing,
//! foreign, damaged or too-new file is a clear [`Error`], and the file is left
//! as it was. Creating a store happens under a temporary name and is renamed
//! into place only once complete, so a set-up interrupted half way leaves no
//! half-made desk behind.

use std::path::{Path, PathBuf};

use rusqlite::{Connection, OpenFlags, TransactionBehavior};

use crate::error::{Error, Result};

/// Stamped into the SQLite header (`PRAGMA application_id`): "HIRC".
pub const APPLICATION_ID: i32 = 0x4849_5243;

/// The migrations, in order. Migration `i` takes the store from schema
/// version `i` to `i + 1`. A shipped migration is never edited.
const MIGRATIONS: &[&str] = &[
    include_str!("../migrations/0001_init.sql"),
    include_str!("../migrations/0002_hub.sql"),
    include_str!("../migrations/0003_signed_receipts.sql"),
    include_str!("../migrations/0004_set_aside.sql"),
    include_str!("../migrations/0005_follow_up.sql"),
    include_str!("../migrations/0006_word_back.sql"),
    include_str!("../migrations/0007_erasure.sql"),
    include_str!("../migrations/0008_evidence.sql"),
    include_str!("../migrations/0009_evidence_outbox.sql"),
];

/// The schema version this build writes.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

const SQLITE_MAGIC: &[u8; 16] = b"SQLite format 3\0";

/// Sets every pragma a desk connection needs.
///
/// - WAL, so an autosave is one append and readers never block it.
/// - `synchronous = FULL`: a commit is on the disk before we say "Saved".
///   NORMAL would survive a crash of the app but can lose the last saves on a
///   power cut, and desk laptops get unplugged. The cost is measured in
///   docs/benchmarks.md.
/// - `secure_delete`: deleted pages are zeroed, so a purged body's ciphertext
///   does not linger in free pages.
/// - `temp_store = MEMORY`: no temporary files next to the store.
/// - `trusted_schema = OFF`: the file may have been edited by someone else.
pub(crate) fn configure(conn: &Connection) -> Result<()> {
    conn.busy_timeout(std::time::Duration::from_secs(5))?;
    conn.execute_batch(
        "PRAGMA journal_mode = WAL;
         PRAGMA synchronous = FULL;
         PRAGMA foreign_keys = ON;
         PRAGMA secure_delete = ON;
         PRAGMA temp_store = MEMORY;
         PRAGMA trusted_schema = OFF;",
    )?;
    Ok(())
}

/// Opens an existing store, checking it is ours, and migrates it.
pub(crate) fn open(path: &Path) -> Result<Connection> {
    check_header(path)?;
    let mut conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )?;
    // Check ownership before any pragma that writes (journal_mode = WAL
    // rewrites the header): someone else's database must stay byte for byte
    // as it was.
    let app_id: i32 = conn.pragma_query_value(None, "application_id", |r| r.get(0))?;
    if app_id != APPLICATION_ID {
        return Err(Error::ForeignStore {
            path: path.to_path_buf(),
        });
    }
    // A damaged file is refused before anything is written to it (even an
    // audit entry for the unlock would write into the damage).
    check_intact(&conn)?;
    configure(&conn)?;
    migrate(&mut conn, MIGRATIONS)?;
    // A store whose schema is there but whose desk row is not was damaged
    // (or edited) outside HIRC Desk.
    let desks: i64 = conn.query_row("SELECT count(*) FROM desk", [], |r| r.get(0))?;
    if desks != 1 {
        return Err(Error::Corrupt {
            detail: "the desk record is missing".into(),
        });
    }
    Ok(conn)
}

/// SQLite's structural check of every page (`quick_check`): read-only, and
/// quick enough to run at every open (docs/benchmarks.md).
fn check_intact(conn: &Connection) -> Result<()> {
    let mut stmt = conn.prepare("PRAGMA quick_check(1)")?;
    let first: String = stmt.query_row([], |r| r.get(0))?;
    if first == "ok" {
        Ok(())
    } else {
        tracing::error!("the store failed SQLite's integrity check");
        Err(Error::Corrupt {
            detail: "SQLite's integrity check found a damaged page".into(),
        })
    }
}

/// An in-memory store at the latest schema, for unit tests.
#[cfg(test)]
pub(crate) fn open_in_memory() -> Result<Connection> {
    let mut conn = Connection::open_in_memory()?;
    configure(&conn)?;
    conn.pragma_update(None, "application_id", APPLICATION_ID)?;
    migrate(&mut conn, MIGRATIONS)?;
    Ok(conn)
}

/// Creates a new store at `path`, filling it with `fill` in the same
/// transaction as the schema, then moves it into place.
pub(crate) fn create<T>(
    path: &Path,
    fill: impl FnOnce(&rusqlite::Transaction<'_>) -> Result<T>,
) -> Result<T> {
    if path.exists() {
        return Err(Error::AlreadyInitialised {
            path: path.to_path_buf(),
        });
    }
    let tmp = sibling(path, ".creating");
    for leftover in [tmp.clone(), sibling(&tmp, "-wal"), sibling(&tmp, "-shm")] {
        // Only ever a previous set-up that was interrupted: never a desk.
        let _ = std::fs::remove_file(leftover);
    }
    let value = {
        let mut conn = Connection::open_with_flags(
            &tmp,
            OpenFlags::SQLITE_OPEN_READ_WRITE
                | OpenFlags::SQLITE_OPEN_CREATE
                | OpenFlags::SQLITE_OPEN_NO_MUTEX,
        )?;
        restrict_permissions(&tmp)?;
        configure(&conn)?;
        conn.pragma_update(None, "application_id", APPLICATION_ID)?;
        migrate(&mut conn, MIGRATIONS)?;
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        let value = fill(&tx)?;
        tx.commit()?;
        // Closing the last connection checkpoints the WAL into the file, so
        // the one file we rename holds everything.
        conn.close().map_err(|(_, e)| Error::from(e))?;
        value
    };
    std::fs::rename(&tmp, path)
        .map_err(|e| Error::io("could not move the new store into place", e))?;
    sync_parent(path);
    Ok(value)
}

/// Applies pending migrations, each in its own immediate transaction
/// together with its `user_version` bump: a failed migration leaves the
/// store exactly at the version before it.
pub(crate) fn migrate(conn: &mut Connection, migrations: &[&str]) -> Result<()> {
    let latest = migrations.len() as i64;
    let current: i64 = conn.pragma_query_value(None, "user_version", |r| r.get(0))?;
    if current > latest {
        return Err(Error::StoreTooNew {
            found: current,
            supported: latest,
        });
    }
    for (index, sql) in migrations.iter().enumerate().skip(current as usize) {
        let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
        // Another process (the app and the login service start together
        // after an upgrade) may have applied it while this one waited for
        // the lock: read the version again under the lock.
        let now: i64 = tx.pragma_query_value(None, "user_version", |r| r.get(0))?;
        if now > index as i64 {
            continue;
        }
        tx.execute_batch(sql)?;
        tx.pragma_update(None, "user_version", index as i64 + 1)?;
        tx.commit()?;
        tracing::info!(to = index + 1, "store migrated");
    }
    Ok(())
}

/// The current schema version of an open store.
pub(crate) fn schema_version(conn: &Connection) -> Result<i64> {
    Ok(conn.pragma_query_value(None, "user_version", |r| r.get(0))?)
}

fn check_header(path: &Path) -> Result<()> {
    use std::io::Read;
    let mut file = match std::fs::File::open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::NotInitialised {
                path: path.parent().unwrap_or(path).to_path_buf(),
            });
        }
        Err(e) => return Err(Error::io(format!("could not open {}", path.display()), e)),
    };
    let mut header = [0u8; 16];
    match file.read_exact(&mut header) {
        Ok(()) if &header == SQLITE_MAGIC => Ok(()),
        _ => Err(Error::NotAStore {
            path: path.to_path_buf(),
        }),
    }
}

fn sibling(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

/// Makes the store readable by its owner only. SQLite gives the `-wal` and
/// `-shm` files the same permissions as the database.
#[cfg(unix)]
fn restrict_permissions(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
        .map_err(|e| Error::io("could not restrict the store's permissions", e))
}

/// On Windows the per-user profile folder already limits access; ACLs are
/// left to the installer.
#[cfg(not(unix))]
fn restrict_permissions(_path: &Path) -> Result<()> {
    Ok(())
}

/// Makes the data directory private to its owner (logs and the store live
/// there).
#[cfg(unix)]
pub(crate) fn restrict_dir(path: &Path) -> Result<()> {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o700))
        .map_err(|e| Error::io(format!("could not restrict {}", path.display()), e))
}

/// Windows: the per-user profile folder already limits access.
#[cfg(not(unix))]
pub(crate) fn restrict_dir(_path: &Path) -> Result<()> {
    Ok(())
}

/// Makes the rename durable. Best effort: not every platform can open a
/// directory for syncing.
fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent()
        && let Ok(d) = std::fs::File::open(dir)
    {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_migrations_apply_cleanly_to_an_empty_database() {
        let conn = open_in_memory().expect("migrates");
        assert_eq!(schema_version(&conn).expect("version"), SCHEMA_VERSION);
        // Foreign keys and the append-only audit are really on.
        let fk: i64 = conn
            .pragma_query_value(None, "foreign_keys", |r| r.get(0))
            .expect("pragma");
        assert_eq!(fk, 1);
    }

    #[test]
    fn upgrades_run_in_order_and_a_failing_step_changes_nothing() {
        let mut conn = Connection::open_in_memory().expect("db");
        let v1 = "CREATE TABLE t (a INTEGER);";
        let v2 = "ALTER TABLE t ADD COLUMN b INTEGER; INSERT INTO t VALUES (1, 2);";
        let broken = "CREATE TABLE u (x); THIS IS NOT SQL;";
        migrate(&mut conn, &[v1]).expect("v1");
        assert_eq!(schema_version(&conn).expect("v"), 1);
        migrate(&mut conn, &[v1, v2]).expect("v1 -> v2");
        assert_eq!(schema_version(&conn).expect("v"), 2);
        let b: i64 = conn
            .query_row("SELECT b FROM t", [], |r| r.get(0))
            .expect("row");
        assert_eq!(b, 2);

        assert!(migrate(&mut conn, &[v1, v2, broken]).is_err());
        assert_eq!(schema_version(&conn).expect("v"), 2, "version unchanged");
        let u: i64 = conn
            .query_row(
                "SELECT count(*) FROM sqlite_master WHERE name = 'u'",
                [],
                |r| r.get(0),
            )
            .expect("query");
        assert_eq!(u, 0, "the failed step's first statement was rolled back");

        let err = migrate(&mut conn, &[v1]).expect_err("too new");
        assert!(matches!(
            err,
            Error::StoreTooNew {
                found: 2,
                supported: 1
            }
        ));
    }

    #[test]
    fn opening_refuses_what_is_not_a_desk_and_leaves_it_alone() {
        let dir = tempfile::tempdir().expect("tmp");

        let missing = dir.path().join("missing.sqlite3");
        assert!(matches!(open(&missing), Err(Error::NotInitialised { .. })));
        assert!(!missing.exists(), "opening never creates");

        let text = dir.path().join("notes.sqlite3");
        std::fs::write(&text, b"just some text, not a database at all").expect("write");
        assert!(matches!(open(&text), Err(Error::NotAStore { .. })));
        assert!(std::fs::read(&text).expect("read") == b"just some text, not a database at all");

        let foreign = dir.path().join("foreign.sqlite3");
        Connection::open(&foreign)
            .and_then(|c| c.execute_batch("CREATE TABLE x (y); INSERT INTO x VALUES (1);"))
            .expect("foreign db");
        let before = std::fs::read(&foreign).expect("read");
        assert!(matches!(open(&foreign), Err(Error::ForeignStore { .. })));
        assert!(
            std::fs::read(&foreign).expect("read") == before,
            "foreign file changed"
        );
    }
}
