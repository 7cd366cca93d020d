//! The hub's files: every one it writes (its store, keys, receipt files,
//! exports of decrypted reports) is owner-only and new. An existing file is
//! never overwritten: it would keep its own mode, and a symbolic link in its
//! place would send what is written wherever it points.

use std::io::Write;
use std::path::Path;

/// Creates `path` as a new, empty, owner-only file (refusing an existing
/// file or link) and returns it open for writing.
pub fn create_private(path: &Path) -> std::io::Result<std::fs::File> {
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(path)
}

/// Writes `bytes` to a new owner-only file, durably; never overwrites.
pub fn write_new(path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    let mut file = create_private(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            anyhow::anyhow!(
                "{} already exists (or is a link); it was left untouched: choose a new file name",
                path.display()
            )
        } else {
            anyhow::anyhow!("could not create {}: {e}", path.display())
        }
    })?;
    file.write_all(bytes)?;
    file.sync_all()?;
    Ok(())
}

/// Makes the hub's data directory (and any missing parent) owner-only as it
/// creates it, whatever the umask. An existing directory is left as its
/// owner set it.
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
