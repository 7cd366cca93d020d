//! Writing a file so that no one ever sees half of it.

use std::io::Write as _;
use std::path::Path;

/// Writes `bytes` to `path` through a temporary file beside it (readable by
/// the owner only where the platform has such permissions), synced, then
/// renamed into place: a crash or a full disk never leaves half a file
/// where the app or the coordinator will look.
pub fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let tmp = path.with_extension("part");
    // A leftover from a crash would keep its old permissions, since the mode
    // below only applies to a file being created.
    let _ = std::fs::remove_file(&tmp);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create(true).truncate(true);
    // Unix only: Windows has no mode bits; there the per-user profile folder
    // the desk lives in already keeps other users out.
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    let mut f = options.open(&tmp)?;
    f.write_all(bytes)?;
    f.sync_all()?;
    drop(f);
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::write_atomically;

    #[test]
    fn replaces_the_whole_file_and_leaves_nothing_beside_it() {
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("summary.csv");
        std::fs::write(&path, b"an older, much longer export").expect("old file");
        write_atomically(&path, b"new").expect("write");
        assert_eq!(std::fs::read(&path).expect("read back"), b"new");
        let names: Vec<_> = std::fs::read_dir(dir.path())
            .expect("list dir")
            .map(|e| e.expect("dir entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("summary.csv")]);
    }

    #[cfg(unix)]
    #[test]
    fn only_the_owner_can_read_what_was_written() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().expect("temp dir");
        let path = dir.path().join("resume.json");
        write_atomically(&path, b"{}").expect("write");
        let mode = std::fs::metadata(&path)
            .expect("metadata")
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
    }
}
