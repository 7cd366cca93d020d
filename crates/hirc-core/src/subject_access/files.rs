//! The files the person gave, written out for them beside their copy, as
//! the desk keeps them (pictures already stripped of their details): into
//! a folder only the coordinator's account can open, each file whole or
//! not at all, never over another file, and audited.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::SubjectAccess;
use crate::desk::{Desk, Session};
use crate::error::{Error, Result};

/// Where each file the person gave goes in `dir` (made owner-only if it is
/// not there): `REFERENCE-N.EXT`, in the copy's order. Checked before
/// anything is written: a folder other users of the computer can open, or
/// one that already holds a file of those names, is refused.
pub fn where_the_files_go(copy: &SubjectAccess, dir: &Path) -> Result<Vec<PathBuf>> {
    hirc_files::private_dir(dir)
        .map_err(|e| Error::io(format!("could not make {}", dir.display()), e))?;
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir)
            .map_err(|e| Error::io(format!("could not open {}", dir.display()), e))?
            .permissions()
            .mode();
        if mode & 0o077 != 0 {
            return Err(Error::UnsuitableFolder(format!(
                "other users of this computer can open {}: name a new folder for the person's files",
                dir.display()
            )));
        }
    }
    let paths: Vec<_> = copy
        .evidence
        .iter()
        .enumerate()
        .map(|(n, item)| {
            dir.join(format!(
                "{}-{}.{}",
                copy.reference,
                n + 1,
                item.kind.extension()
            ))
        })
        .collect();
    if let Some(there) = paths.iter().find(|p| p.exists()) {
        return Err(Error::UnsuitableFolder(format!(
            "{} is there already: name an empty folder for the person's files (nothing was written)",
            there.display()
        )));
    }
    Ok(paths)
}

impl Desk {
    /// Writes each file the person gave (`copy`'s evidence) to its path
    /// from [`where_the_files_go`]: streamed from the desk's copy into a
    /// hidden `.part` file that takes its name only once whole (a link, so
    /// it never replaces a file of that name), owner-only. Audits what was
    /// written, also when a later file fails; returns how many were.
    pub fn write_files_for_the_person(
        &mut self,
        s: &Session,
        copy: &SubjectAccess,
        paths: &[PathBuf],
    ) -> Result<usize> {
        let mut written = 0;
        let mut outcome = Ok(());
        for (item, path) in copy.evidence.iter().zip(paths) {
            let name = path.file_name().unwrap_or_default().to_string_lossy();
            let part = path.with_file_name(format!(".{name}.part"));
            let wrote = (|| -> Result<()> {
                let failed = |e| Error::io(format!("could not write {}", path.display()), e);
                let mut file = hirc_files::create_new(&part).map_err(failed)?;
                let mut content = self.open_evidence(s, item.id)?;
                std::io::copy(&mut content, &mut file).map_err(failed)?;
                file.flush()
                    .and_then(|()| file.sync_all())
                    .map_err(failed)?;
                std::fs::hard_link(&part, path).map_err(failed)?;
                Ok(())
            })();
            let _ = std::fs::remove_file(&part);
            match wrote {
                Ok(()) => written += 1,
                Err(e) => {
                    outcome = Err(e);
                    break;
                }
            }
        }
        if written > 0 {
            self.record_export(
                s,
                &format!(
                    "{written} file(s) of evidence for the person of {}",
                    copy.reference
                ),
            )?;
        }
        outcome.map(|()| written)
    }
}
