//! The interface language chosen on this desk, kept for the next start so
//! the app reopens in the volunteers' language, before anyone signs in.
//!
//! A file `interface-language` beside the store holding a language tag
//! ("pl"): nothing personal, and nothing secret.

use std::path::{Path, PathBuf};

use crate::error::{CommandError, CommandResult};

const FILE: &str = "interface-language";

fn path(dir: &Path) -> PathBuf {
    dir.join(FILE)
}

/// Whether `tag` looks like a language tag the interface could have ("en",
/// "pl", "ur", "pt-BR"): short, ASCII letters and hyphens.
fn plausible(tag: &str) -> bool {
    (2..=12).contains(&tag.len())
        && tag.chars().all(|c| c.is_ascii_alphabetic() || c == '-')
        && tag.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
}

/// The language chosen last, if any (a missing or odd file means none).
pub fn get(dir: &Path) -> Option<String> {
    let text = std::fs::read_to_string(path(dir)).ok()?;
    let tag = text.trim();
    plausible(tag).then(|| tag.to_string())
}

/// Remembers `tag` for the next start.
pub fn set(dir: &Path, tag: &str) -> CommandResult<()> {
    if !plausible(tag) {
        return Err(CommandError::new(
            "invalid_input",
            "an interface language is a tag such as en, pl or ur",
        ));
    }
    std::fs::create_dir_all(dir)
        .and_then(|()| hirc_files::write_atomically(&path(dir), tag.as_bytes()))
        .map_err(|e| {
            CommandError::internal(format!(
                "the interface language could not be remembered in {}: {e}",
                dir.display()
            ))
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_language_survives_a_restart_and_nonsense_is_refused() {
        let dir = tempfile::tempdir().expect("tmp");
        assert_eq!(get(dir.path()), None);
        set(dir.path(), "pl").expect("set");
        assert_eq!(get(dir.path()).as_deref(), Some("pl"));
        assert!(set(dir.path(), "../../etc").is_err());
        assert!(set(dir.path(), "").is_err());
        assert_eq!(get(dir.path()).as_deref(), Some("pl"));
        std::fs::write(dir.path().join(FILE), "<script>").expect("damage");
        assert_eq!(get(dir.path()), None, "an odd file means no choice");
    }
}
