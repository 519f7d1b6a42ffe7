//! The one rule that turns a book's title into an S3 object key.
//!
//! 1. Compose the title to Unicode NFC, then trim whitespace at both ends.
//! 2. Replace each `/` and `\` with `_`, so a title can never name a folder or
//!    climb out of one (`../scifi/X` becomes `.._scifi_X.json`).
//! 3. Reject control characters, an empty title, and the titles `.` and `..`.
//! 4. Append `.json`; the whole key must fit in S3's 1,024 UTF-8 bytes.
//!
//! Everything else is kept exactly as written: inner spaces, `+`, `%`, accents
//! and emoji, so `Love + War` and `Love  War` are different keys.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

use crate::error::Error;

/// The file name suffix of every stored book.
pub const SUFFIX: &str = ".json";

/// S3's limit on a key's length, in UTF-8 bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// What replaces a path separator in a title.
pub const SEPARATOR_REPLACEMENT: char = '_';

/// An S3 object key made from a title by the rule above.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ObjectKey(String);

impl ObjectKey {
    /// Applies the key rule to a title.
    ///
    /// # Errors
    ///
    /// A permanent [`Error`] naming `title` when it is empty, `.` or `..`,
    /// holds a control character, or makes a key longer than
    /// [`MAX_KEY_BYTES`].
    pub fn from_title(title: &str) -> Result<Self, Error> {
        Self::with_suffix(title, "")
    }

    /// The key for a title whose plain key already holds a different book:
    /// the book's id is added in brackets, `Title [id].json`.
    ///
    /// # Errors
    ///
    /// As [`ObjectKey::from_title`]; the length limit counts the added id.
    pub fn from_title_and_id(title: &str, id: &str) -> Result<Self, Error> {
        Self::with_suffix(title, &format!(" [{id}]"))
    }

    fn with_suffix(title: &str, qualifier: &str) -> Result<Self, Error> {
        let invalid = |reason: String| Error::InvalidField {
            field: "title",
            reason,
        };

        let composed: String = title.nfc().collect();
        let name: String = composed
            .trim()
            .chars()
            .map(|c| {
                if c == '/' || c == '\\' {
                    SEPARATOR_REPLACEMENT
                } else {
                    c
                }
            })
            .collect();

        if name.is_empty() {
            return Err(Error::EmptyField { field: "title" });
        }
        if name == "." || name == ".." {
            return Err(invalid(format!("{name:?} is not a usable file name")));
        }
        if let Some(control) = name.chars().find(|c| c.is_control()) {
            return Err(invalid(format!(
                "control character {control:?} is not allowed"
            )));
        }

        let key = format!("{name}{qualifier}{SUFFIX}");
        if key.len() > MAX_KEY_BYTES {
            return Err(invalid(format!(
                "the key would be {} bytes, more than S3's {MAX_KEY_BYTES}",
                key.len()
            )));
        }
        Ok(Self(key))
    }

    /// The key as a string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ObjectKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(title: &str) -> Result<String, String> {
        ObjectKey::from_title(title)
            .map(|k| k.as_str().to_owned())
            .map_err(|e| e.to_string())
    }

    #[test]
    fn separators_are_replaced_so_no_title_leaves_its_bucket_root() {
        assert_eq!(key("../scifi/X"), Ok(".._scifi_X.json".into()));
        assert_eq!(key("a/b"), Ok("a_b.json".into()));
        assert_eq!(key(r"a\b"), Ok("a_b.json".into()));
    }

    #[test]
    fn dot_titles_are_rejected_naming_the_title() {
        for title in [".", "..", " .. "] {
            let error = key(title).expect_err("dot titles are rejected");
            assert!(
                error.starts_with("field `title` is invalid"),
                "{title}: {error}"
            );
        }
    }

    #[test]
    fn spaces_and_symbols_are_kept_exactly() {
        assert_eq!(key("Love + War"), Ok("Love + War.json".into()));
        assert_eq!(key("Love  War"), Ok("Love  War.json".into()));
        assert_ne!(key("Love + War"), key("Love  War"));
        assert_eq!(key("100% Café 🚀"), Ok("100% Café 🚀.json".into()));
    }

    #[test]
    fn composed_and_decomposed_spellings_make_one_key() {
        let composed = key("Caf\u{e9}");
        let decomposed = key("Cafe\u{301}");

        assert_eq!(composed, Ok("Caf\u{e9}.json".into()));
        assert_eq!(composed, decomposed);
    }

    #[test]
    fn titles_are_trimmed_but_not_emptied() {
        assert_eq!(key("  LoremIpsum \n"), Ok("LoremIpsum.json".into()));
        assert_eq!(key("   "), Err("field `title` is empty".into()));
    }

    #[test]
    fn control_characters_are_rejected() {
        for title in ["a\u{0}b", "tab\there", "line\nbreak", "del\u{7f}"] {
            assert!(
                key(title).is_err_and(|e| e.contains("control character")),
                "{title:?}"
            );
        }
    }

    #[test]
    fn length_is_counted_in_utf8_bytes_including_the_suffix() {
        let longest = "a".repeat(MAX_KEY_BYTES - SUFFIX.len());
        let too_long = "a".repeat(MAX_KEY_BYTES - SUFFIX.len() + 1);
        // 'é' is two bytes: 510 of them plus the suffix is 1,025 bytes.
        let wide = "é".repeat(510);

        assert_eq!(key(&longest).map(|k| k.len()), Ok(MAX_KEY_BYTES));
        assert!(key(&too_long).is_err_and(|e| e.contains("1025 bytes")));
        assert!(key(&wide).is_err());
    }

    #[test]
    fn a_qualified_key_carries_the_book_id() {
        let key = ObjectKey::from_title_and_id("Dune", "42").expect("valid");

        assert_eq!(key.as_str(), "Dune [42].json");
    }
}
