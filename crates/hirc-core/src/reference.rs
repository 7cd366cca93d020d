//! Human references, such as `CP-7K3M-Q9`: the centre's code, then five
//! random Crockford base32 characters and a check character.
//!
//! Issued offline at sealing, so the person leaves the desk with it on a
//! card. It is random and encodes nothing about them; the check character
//! catches a mistyped character when they quote it back later.

use rand::Rng;

use hirc_proto::crockford;

use crate::error::{Error, Result};

/// Odd weights are invertible mod 32, so any single wrong character changes
/// the check.
const WEIGHTS: [u32; 5] = [1, 3, 5, 7, 9];

/// A report's human reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reference(String);

impl Reference {
    /// Issues a fresh reference for a centre.
    pub fn generate(centre_code: &str) -> Self {
        let mut rng = rand::rngs::OsRng;
        let body: Vec<u32> = (0..5).map(|_| rng.gen_range(0..32)).collect();
        Self(format_reference(centre_code, &body))
    }

    /// Reads a reference typed by a person (any case; O/I/L misreadings fixed).
    pub fn parse(text: &str) -> Result<Self> {
        let bad = || {
            Error::InvalidInput(
                "a reference looks like CP-7K3M-Q9 (the centre's code, then six letters and digits)"
                    .into(),
            )
        };
        let text = text.trim().to_ascii_uppercase();
        let (code, rest) = text.split_once('-').ok_or_else(bad)?;
        if !is_centre_code(code) {
            return Err(bad());
        }
        let chars: Vec<u32> = rest
            .chars()
            .filter(|c| *c != '-' && *c != ' ')
            .map(crockford::value)
            .collect::<Option<_>>()
            .ok_or_else(bad)?;
        if chars.len() != 6 {
            return Err(bad());
        }
        if check(&chars[..5]) != chars[5] {
            return Err(Error::InvalidInput(
                "that reference has a mistyped character (its check character does not match); read it again from the card".into(),
            ));
        }
        Ok(Self(format_reference(code, &chars[..5])))
    }

    /// The reference as printed.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for Reference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// Whether `code` is a valid centre code: 2 to 6 capital letters or digits.
pub fn is_centre_code(code: &str) -> bool {
    (2..=6).contains(&code.len())
        && code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

fn check(body: &[u32]) -> u32 {
    body.iter().zip(WEIGHTS).map(|(v, w)| v * w).sum::<u32>() % 32
}

fn format_reference(code: &str, body: &[u32]) -> String {
    let ch = crockford::char_of;
    let mut s = format!("{code}-");
    s.extend(body[..4].iter().map(|&v| ch(v)));
    s.push('-');
    s.push(ch(body[4]));
    s.push(ch(check(body)));
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generated_references_parse_back_and_catch_typos() {
        for _ in 0..200 {
            let r = Reference::generate("CP");
            assert_eq!(r.as_str().len(), "CP-7K3M-Q9".len());
            assert_eq!(
                Reference::parse(&r.as_str().to_lowercase()).expect("parses"),
                r
            );
            // Change one character of the random part: the check catches it.
            let mut chars: Vec<char> = r.as_str().chars().collect();
            let i = 3;
            chars[i] = if chars[i] == 'A' { 'B' } else { 'A' };
            let typo: String = chars.into_iter().collect();
            assert!(Reference::parse(&typo).is_err(), "{typo}");
        }
        assert!(Reference::parse("nonsense").is_err());
        assert!(is_centre_code("CP") && !is_centre_code("cp") && !is_centre_code("TOOLONGX"));
    }
}
