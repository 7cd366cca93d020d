//! The files the person gave, written out for them beside their copy, as
//! the desk keeps them (pictures already stripped of their details): into
//! a folder other users of the computer cannot open, each file whole or not
//! at all, never over another file, and audited.

use std::io::Write as _;
use std::path::{Path, PathBuf};

use super::SubjectAccess;
use crate::desk::{Desk, Session, require_coordinator};
use crate::error::{Error, Result};
use crate::evidence::Evidence;

/// The rule a place open to other users of the computer breaks.
const OPEN_TO_OTHERS: &str = "folder_open_to_others";
/// The rule a name already taken there breaks.
const TAKEN: &str = "folder_taken";

/// Where each file the person gave goes in `dir` (made owner-only if it is
/// not there; the command line's `--evidence-dir`): `REFERENCE-N.EXT`, in
/// the copy's order. Checked before anything is written: a folder other
/// users of the computer can open, or one that already holds a file of
/// those names, is refused.
pub fn where_the_files_go(copy: &SubjectAccess, dir: &Path) -> Result<Vec<PathBuf>> {
    hirc_files::private_dir(dir)
        .map_err(|e| Error::Export(format!("could not make {}: {e}", dir.display())))?;
    if open_to_others(dir)? {
        return Err(Error::UnsuitableFolder {
            rule: OPEN_TO_OTHERS,
            message: format!(
                "other users of this computer can open {}: name a new folder for the person's files",
                dir.display()
            ),
        });
    }
    let paths = names_in(copy, dir);
    if let Some(there) = paths.iter().find(|p| p.exists()) {
        return Err(Error::UnsuitableFolder {
            rule: TAKEN,
            message: format!(
                "{} is there already: name an empty folder for the person's files (nothing was written)",
                there.display()
            ),
        });
    }
    Ok(paths)
}

/// Makes `dir`, which must not exist yet (so that it is this account's,
/// owner-only, and holds nothing else: a name already taken, even by a
/// link planted there, is refused), for the person's files; returns where
/// each goes, as [`where_the_files_go`] names them. A folder on a disk that
/// keeps no owners (a USB stick's FAT) is taken only where other users
/// cannot reach it (a stick under `/media/USER`); otherwise it is removed
/// again and refused.
pub fn new_folder_for_the_files(copy: &SubjectAccess, dir: &Path) -> Result<Vec<PathBuf>> {
    let mut builder = std::fs::DirBuilder::new();
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
    match builder.create(dir) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            return Err(Error::UnsuitableFolder {
                rule: TAKEN,
                message: format!(
                    "{} is there already: choose another place, or move that folder away (nothing was written)",
                    dir.display()
                ),
            });
        }
        Err(e) => {
            return Err(Error::Export(format!(
                "could not make {}: {e}",
                dir.display()
            )));
        }
    }
    if open_to_others(dir)? {
        let _ = std::fs::remove_dir(dir);
        return Err(Error::UnsuitableFolder {
            rule: OPEN_TO_OTHERS,
            message: format!(
                "other users of this computer can open {}: choose a place on this account's own folders, or the person's USB stick",
                dir.display()
            ),
        });
    }
    Ok(names_in(copy, dir))
}

/// `REFERENCE-N.EXT` in `dir`, for each file in the copy's order.
fn names_in(copy: &SubjectAccess, dir: &Path) -> Vec<PathBuf> {
    copy.evidence
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
        .collect()
}

/// Whether users other than this one can open `dir`: its own mode lets
/// its group or others in, and no folder above it keeps them out (a disk
/// that keeps no owners shows every folder open; a stick mounted under
/// `/media/USER`, which only that user may enter, is still closed to them).
fn open_to_others(dir: &Path) -> Result<bool> {
    #[cfg(unix)]
    {
        use std::os::unix::fs::MetadataExt;
        let unreadable = |e| Error::Export(format!("could not open {}: {e}", dir.display()));
        let own = std::fs::metadata(dir).map_err(unreadable)?;
        if own.mode() & 0o077 == 0 {
            return Ok(false);
        }
        let canonical = std::fs::canonicalize(dir).map_err(unreadable)?;
        for above in canonical.ancestors().skip(1) {
            let Ok(meta) = std::fs::metadata(above) else {
                continue;
            };
            let mode = meta.mode();
            // Nobody else may pass: neither others, nor a group that is
            // someone else's (root's, or this user's own is no one else).
            let group_shut = mode & 0o010 == 0 || meta.gid() == 0 || meta.gid() == own.gid();
            if mode & 0o001 == 0 && group_shut {
                return Ok(false);
            }
        }
        Ok(true)
    }
    #[cfg(not(unix))]
    {
        let _ = dir;
        Ok(false)
    }
}

impl Desk {
    /// How many files the person gave with the report they quote, as their
    /// copy would list them (coordinators): counted without opening the
    /// report, so that asking where to save the files is not audited as
    /// one more opening (writing them is, with
    /// [`Desk::record_files_for_the_person`]).
    pub fn files_the_person_gave(&self, s: &Session, quoted: &str) -> Result<usize> {
        self.check_session(s)?;
        require_coordinator(s, "saving the files a person gave for them")?;
        let (id, _) = self.quoted_report(quoted)?;
        let count: i64 = self.db().query_row(
            &format!("SELECT COUNT(*) {}", crate::evidence::HELD_FOR_REPORT),
            [id.to_string()],
            |r| r.get(0),
        )?;
        Ok(usize::try_from(count).unwrap_or_default())
    }

    /// Writes one file the person gave (`item`, from their copy) to `path`
    /// (from [`where_the_files_go`] or [`new_folder_for_the_files`]):
    /// streamed from the desk's copy into a hidden `.part` file, synced,
    /// and given its name only once whole, never over another file
    /// (coordinators). A `.part` left by a run that was killed is replaced.
    pub fn write_file_for_the_person(
        &mut self,
        s: &Session,
        item: &Evidence,
        path: &Path,
    ) -> Result<()> {
        require_coordinator(s, "saving the files a person gave for them")?;
        let name = path.file_name().unwrap_or_default().to_string_lossy();
        let part = path.with_file_name(format!(".{name}.part"));
        let failed =
            |e: std::io::Error| Error::Export(format!("could not write {}: {e}", path.display()));
        if std::fs::symlink_metadata(&part).is_ok_and(|m| m.is_file()) {
            std::fs::remove_file(&part).map_err(failed)?;
        }
        let wrote = (|| -> Result<()> {
            let mut file = hirc_files::create_new(&part).map_err(failed)?;
            let mut content = self.open_evidence(s, item.id)?;
            std::io::copy(&mut content, &mut file).map_err(failed)?;
            file.flush()
                .and_then(|()| file.sync_all())
                .map_err(failed)?;
            take_name(&part, path).map_err(failed)
        })();
        let _ = std::fs::remove_file(&part);
        wrote
    }

    /// Writes each file the person gave to its path, in order; if one
    /// fails, those written by this call are removed again (a retry starts
    /// clean), and the error returned. Audited before the first byte (so a
    /// run killed part way is in the log too), and again if it fails.
    pub fn write_files_for_the_person(
        &mut self,
        s: &Session,
        copy: &SubjectAccess,
        paths: &[PathBuf],
    ) -> Result<usize> {
        let count = copy.evidence.len().min(paths.len());
        self.record_files_for_the_person(s, &copy.reference, count)?;
        let mut written: Vec<&Path> = Vec::new();
        for (item, path) in copy.evidence.iter().zip(paths) {
            if let Err(e) = self.write_file_for_the_person(s, item, path) {
                for done in written {
                    let _ = std::fs::remove_file(done);
                }
                let _ = self.record_files_not_written(s, &copy.reference);
                return Err(e);
            }
            written.push(path);
        }
        Ok(written.len())
    }

    /// Audits, before they are written, that `count` files the person gave
    /// are being written for them.
    pub fn record_files_for_the_person(
        &mut self,
        s: &Session,
        reference: &str,
        count: usize,
    ) -> Result<()> {
        if count == 0 {
            return Ok(());
        }
        self.record_export(
            s,
            &format!("{count} file(s) of evidence for the person of {reference}"),
        )
    }

    /// Audits that the files for the person were not all written, and
    /// those that were removed again.
    pub fn record_files_not_written(&mut self, s: &Session, reference: &str) -> Result<()> {
        self.record_export(
            s,
            &format!(
                "the files of evidence for the person of {reference} were not all written; those written were removed"
            ),
        )
    }
}

/// Gives `part` the name `path` unless a file has it: a hard link where
/// the disk has them (atomic: never replaces), else a rename after a check
/// (a USB stick's FAT has no links; the folder is the person's, just made
/// or checked, so nothing else is writing names into it).
fn take_name(part: &Path, path: &Path) -> std::io::Result<()> {
    match std::fs::hard_link(part, path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => Err(e),
        Err(_) => {
            if std::fs::symlink_metadata(path).is_ok() {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::AlreadyExists,
                    "a file of that name is there already",
                ));
            }
            std::fs::rename(part, path)
        }
    }
}
