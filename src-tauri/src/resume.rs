//! Where each user was in the report form, so the app reopens the same
//! draft at the same step after a crash, a lock or a restart.
//!
//! Kept in `app-resume.json` beside the store: only a report id and a step
//! number per user id (both already in clear in the store), never content.
//! Written to a temporary file and renamed, so a crash leaves the old or
//! the new file, never half of one.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// A user's place in the form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, specta::Type)]
pub struct Place {
    /// The draft being filled in.
    pub report_id: Uuid,
    /// The form step (0 = the first).
    pub step: u32,
}

const FILE: &str = "app-resume.json";

fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

fn read_all(dir: &Path) -> BTreeMap<Uuid, Place> {
    // A missing or damaged file only means "start at home".
    std::fs::read(path(dir))
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .unwrap_or_default()
}

/// Where `user` was, if anywhere.
pub fn get(dir: &Path, user: Uuid) -> Option<Place> {
    read_all(dir).get(&user).copied()
}

/// Records (or with `None` forgets) where `user` is.
pub fn set(dir: &Path, user: Uuid, place: Option<Place>) -> std::io::Result<()> {
    let mut all = read_all(dir);
    match place {
        Some(p) => all.insert(user, p),
        None => all.remove(&user),
    };
    let bytes = serde_json::to_vec(&all).map_err(std::io::Error::other)?;
    hirc_files::write_atomically(&path(dir), &bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn places_survive_a_reread_and_can_be_forgotten() {
        let dir = tempfile::tempdir().expect("tmp");
        let (a, b) = (Uuid::now_v7(), Uuid::now_v7());
        let place = Place {
            report_id: Uuid::now_v7(),
            step: 3,
        };
        assert_eq!(get(dir.path(), a), None);
        set(dir.path(), a, Some(place)).expect("set");
        set(dir.path(), b, Some(Place { step: 1, ..place })).expect("set");
        assert_eq!(get(dir.path(), a), Some(place));
        set(dir.path(), a, None).expect("forget");
        assert_eq!(get(dir.path(), a), None);
        assert_eq!(get(dir.path(), b).map(|p| p.step), Some(1));
        std::fs::write(dir.path().join(FILE), b"{not json").expect("damage");
        assert_eq!(
            get(dir.path(), b),
            None,
            "a damaged file means start at home"
        );
    }
}
