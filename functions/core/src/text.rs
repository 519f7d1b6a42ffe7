//! Unicode normalization shared by records, genres and keys.

use std::borrow::Cow;

use unicode_normalization::{IsNormalized, UnicodeNormalization, is_nfc_quick};

/// `text` in Unicode NFC. Most text already is (all ASCII is), and the quick
/// check proves it without allocating; only the rest is rebuilt.
#[must_use]
pub fn nfc(text: &str) -> Cow<'_, str> {
    if is_nfc_quick(text.chars()) == IsNormalized::Yes {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.nfc().collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn composed_text_is_borrowed_and_decomposed_text_is_composed() {
        assert!(matches!(nfc("LoremIpsum"), Cow::Borrowed("LoremIpsum")));
        assert!(matches!(nfc("Caf\u{e9}"), Cow::Borrowed(_)));
        assert_eq!(nfc("Cafe\u{301}"), "Caf\u{e9}");
    }
}
