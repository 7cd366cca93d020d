//! Human references, such as `CP-7K3M-QA`: the centre's code, then five
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
        let bad = || Error::NotAReference;
        // Spaces and dashes anywhere (read aloud, copied in pieces): the
        // last six characters are the random part and its check, whatever
        // comes before them the centre's code.
        // Copied from a screen, a reference may carry invisible marks
        // (bidirectional isolates, zero-width spaces) and typographic dashes.
        let compact: String = text
            .chars()
            .filter(|c| {
                !c.is_whitespace()
                    && !matches!(c, '-' | '\u{2010}'..='\u{2015}' | '\u{2212}')
                    && !matches!(c, '\u{200B}'..='\u{200F}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}' | '\u{FEFF}')
            })
            .collect::<String>()
            .to_ascii_uppercase();
        if !compact.is_ascii() || compact.len() < 8 {
            return Err(bad());
        }
        let (code, rest) = compact.split_at(compact.len() - 6);
        if !is_centre_code(code) {
            return Err(bad());
        }
        let chars: Vec<u32> = rest
            .chars()
            .map(crockford::value)
            .collect::<Option<_>>()
            .ok_or_else(bad)?;
        if check(&chars[..5]) != chars[5] {
            return Err(Error::MistypedReference);
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
            assert_eq!(r.as_str().len(), "CP-7K3M-QA".len());
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
        // Read back aloud or copied in pieces: spaces, no dashes, a letter
        // O for a zero, an I or L for a one.
        let real = format_reference("CP", &[0, 10, 1, 11, 12]);
        let misread = real.replace('0', "o").replace('1', "i").replace('-', " ");
        assert_eq!(Reference::parse(&misread).expect("misread").as_str(), real);
        assert_eq!(
            Reference::parse(&real.replace('-', ""))
                .expect("no dashes")
                .as_str(),
            real
        );
        // Copied off the app's Urdu page: isolates round it, an en dash.
        let copied = format!("\u{2068}{}\u{2069}", real.replacen('-', "\u{2013}", 1));
        assert_eq!(Reference::parse(&copied).expect("copied").as_str(), real);
        assert!(is_centre_code("CP") && !is_centre_code("cp") && !is_centre_code("TOOLONGX"));
    }
}
