//! Crockford's base32, for codes people copy by hand or read aloud (report
//! references, recovery codes, enrolment codes): no I, L, O or U, and the
//! usual misreadings are put right when a code is typed back.

use rand::RngCore;

/// The 32 characters, in value order.
pub const ALPHABET: &[u8; 32] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";

/// The character for a value from 0 to 31.
///
/// # Panics
/// If `value` is 32 or more: values come from five random bits or from
/// [`value`], never from outside.
pub fn char_of(value: u32) -> char {
    ALPHABET[value as usize] as char
}

/// A random character.
pub fn random_char(rng: &mut impl RngCore) -> char {
    char_of(rng.next_u32() % 32)
}

/// The value of a character as a person may have typed it: any case, with
/// O read as 0 and I or L as 1. `None` for anything else.
pub fn value(typed: char) -> Option<u32> {
    match typed.to_ascii_uppercase() {
        'O' => Some(0),
        'I' | 'L' => Some(1),
        c if c.is_ascii() => ALPHABET
            .iter()
            .position(|&x| x as char == c)
            .map(|p| p as u32),
        _ => None,
    }
}

/// A typed character as it is stored: its alphabet character, or `None`.
pub fn normalise(typed: char) -> Option<char> {
    value(typed).map(char_of)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn misreadings_are_put_right_and_nothing_else_is_read() {
        assert_eq!(value('o'), Some(0));
        assert_eq!(value('i'), Some(1));
        assert_eq!(value('L'), Some(1));
        assert_eq!(value('z'), Some(31));
        assert_eq!(value('U'), None);
        assert_eq!(value('٣'), None);
        for (i, &c) in ALPHABET.iter().enumerate() {
            assert_eq!(value(c as char), Some(i as u32));
            assert_eq!(normalise((c as char).to_ascii_lowercase()), Some(c as char));
        }
    }
}
