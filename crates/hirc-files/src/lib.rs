//! Files that hold anything of a desk's or a hub's (stores, keys, the
//! upload credential, exports, receipt and outbox files): owner-only from
//! the moment they exist, whatever the umask.
//!
//! - [`create_new`] and [`write_new`] never overwrite: an existing file
//!   would keep its own mode, and a symbolic link in its place would send
//!   what is written wherever it points.
//! - [`write_atomically`] replaces a file whole or not at all, through a
//!   new file beside it: a crash or a full disk never leaves half a file
//!   where the app or a coordinator will look.
//!
//! On Windows there are no mode bits; the per-user profile folder the desk
//! lives in already keeps other users out.

#![forbid(unsafe_code)]

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

/// Why a new file could not be written.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// Something is already there.
    #[error(
        "{} already exists (or is a link); it was left untouched: choose a new file name",
        path.display()
    )]
    Exists {
        /// The file asked for.
        path: PathBuf,
    },
    /// The file to copy could not be read.
    #[error("could not read {}: {source}", path.display())]
    Read {
        /// The file to copy.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
    /// The disk or the folder refused.
    #[error("could not write {}: {source}", path.display())]
    Io {
        /// The file asked for.
        path: PathBuf,
        /// What the system said.
        source: std::io::Error,
    },
}

impl FileError {
    fn of(path: &Path, source: std::io::Error) -> Self {
        if source.kind() == std::io::ErrorKind::AlreadyExists {
            Self::Exists {
                path: path.to_path_buf(),
            }
        } else {
            Self::Io {
                path: path.to_path_buf(),
                source,
            }
        }
    }
}

/// Creates `path` as a new, empty, owner-only file (refusing an existing
/// file or link) and returns it open for writing.
pub fn create_new(path: &Path) -> std::io::Result<File> {
    let mut options = OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Writes `bytes` to a new owner-only file, synced to disk; never
/// overwrites.
pub fn write_new(path: &Path, bytes: &[u8]) -> Result<(), FileError> {
    let mut file = create_new(path).map_err(|e| FileError::of(path, e))?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .map_err(|e| FileError::of(path, e))
}

/// Copies the file `from` to a new owner-only file `to`, streamed (a large
/// store is never held in memory) and synced; never overwrites. A copy cut
/// short is removed, so `to` is whole or absent.
pub fn copy_new(from: &Path, to: &Path) -> Result<u64, FileError> {
    let mut source = File::open(from).map_err(|source| FileError::Read {
        path: from.to_path_buf(),
        source,
    })?;
    let mut file = create_new(to).map_err(|e| FileError::of(to, e))?;
    match std::io::copy(&mut source, &mut file).and_then(|n| file.sync_all().map(|()| n)) {
        Ok(n) => {
            sync_parent(to);
            Ok(n)
        }
        Err(e) => {
            drop(file);
            let _ = std::fs::remove_file(to);
            Err(FileError::of(to, e))
        }
    }
}

/// Replaces `path` with `bytes`, whole or not at all: a new owner-only
/// file beside it (`NAME.part`), synced, then renamed over it.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let mut name = path.as_os_str().to_owned();
    name.push(".part");
    let tmp = PathBuf::from(name);
    // A leftover from a crash would keep whatever mode it had, and
    // create_new refuses it.
    let _ = std::fs::remove_file(&tmp);
    let mut file = create_new(&tmp)?;
    file.write_all(bytes)?;
    file.sync_all()?;
    drop(file);
    std::fs::rename(&tmp, path)?;
    sync_parent(path);
    Ok(())
}

/// Makes a directory (and any missing parent) owner-only as it creates it,
/// whatever the umask. An existing directory is left as its owner set it.
pub fn private_dir(path: &Path) -> std::io::Result<()> {
    if path.is_dir() {
        return Ok(());
    }
    let mut builder = std::fs::DirBuilder::new();
    builder.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    builder.create(path)
}

/// Flushes a file written by someone else (SQLite's `VACUUM INTO`, say)
/// to disk, and its directory entry with it.
pub fn sync(path: &Path) -> std::io::Result<()> {
    File::open(path)?.sync_all()?;
    sync_parent(path);
    Ok(())
}

/// Makes a rename durable. Best effort: not every platform can open a
/// directory for syncing.
fn sync_parent(path: &Path) {
    if let Some(dir) = path.parent()
        && let Ok(d) = File::open(dir)
    {
        let _ = d.sync_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(dir: &Path) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .expect("list dir")
            .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    }

    #[cfg(unix)]
    fn mode(path: &Path) -> u32 {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::symlink_metadata(path)
            .expect("metadata")
            .permissions()
            .mode()
            & 0o777
    }

    #[test]
    fn an_atomic_write_replaces_the_whole_file_and_leaves_nothing_beside_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("summary.csv");
        std::fs::write(&path, b"an older, much longer export").expect("old file");
        std::fs::write(dir.path().join("summary.csv.part"), b"a crash's leftover").expect("old");
        write_atomically(&path, b"new").expect("write");
        assert_eq!(std::fs::read(&path).expect("read back"), b"new");
        assert_eq!(names(dir.path()), ["summary.csv"]);
        #[cfg(unix)]
        assert_eq!(mode(&path), 0o600);
    }

    #[test]
    fn a_copy_is_a_new_owner_only_file_and_never_replaces_anything() {
        let dir = tempfile::tempdir().expect("temp dir");
        let from = dir.path().join("hub.sqlite3");
        let bytes: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        std::fs::write(&from, &bytes).expect("source");
        let to = dir.path().join("copy.sqlite3");
        assert_eq!(copy_new(&from, &to).expect("copy"), bytes.len() as u64);
        assert_eq!(std::fs::read(&to).expect("read back"), bytes);
        #[cfg(unix)]
        assert_eq!(mode(&to), 0o600);
        let again = copy_new(&from, &to).expect_err("exists");
        assert!(matches!(again, FileError::Exists { .. }), "{again:?}");
        let missing = copy_new(&dir.path().join("nothing"), &dir.path().join("x"));
        assert!(missing.is_err());
        assert!(
            !dir.path().join("x").exists(),
            "nothing made for a missing source"
        );
    }

    #[test]
    fn a_new_file_never_replaces_anything() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("export.json");
        write_new(&path, b"first").expect("write");
        let again = write_new(&path, b"second").expect_err("exists");
        assert!(matches!(again, FileError::Exists { .. }), "{again}");
        assert!(again.to_string().contains("already exists"));
        assert_eq!(std::fs::read(&path).expect("read"), b"first");
        #[cfg(unix)]
        {
            assert_eq!(mode(&path), 0o600);
            // A link planted in its place is refused, and where it points
            // is untouched.
            let target = dir.path().join("elsewhere");
            std::fs::write(&target, b"theirs").expect("target");
            let link = dir.path().join("link.json");
            std::os::unix::fs::symlink(&target, &link).expect("link");
            assert!(matches!(
                write_new(&link, b"ours"),
                Err(FileError::Exists { .. })
            ));
            assert_eq!(std::fs::read(&target).expect("read"), b"theirs");
        }
    }

    #[test]
    fn a_private_dir_is_owner_only_and_an_existing_one_is_left_alone() {
        let dir = tempfile::tempdir().expect("temp dir");
        let made = dir.path().join("a/b");
        private_dir(&made).expect("make");
        assert!(made.is_dir());
        #[cfg(unix)]
        {
            assert_eq!(mode(&made), 0o700);
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(&made, std::fs::Permissions::from_mode(0o750)).expect("chmod");
            private_dir(&made).expect("again");
            assert_eq!(mode(&made), 0o750);
        }
    }
}
