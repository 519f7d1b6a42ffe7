//! The one rule that turns a book's title into an S3 object key.
//!
//! 1. Compose the title to Unicode NFC, then trim whitespace at both ends.
//! 2. Replace each `/` and `\` with `_`, so a title can never name a folder or
//!    climb out of one (`../scifi/X` becomes `.._scifi_X.json`).
//! 3. Reject control characters, characters that reorder or break the
//!    displayed name (bidirectional overrides and isolates, line and paragraph
//!    separators), an empty title, and the titles `.` and `..`.
//! 4. Append `.json`; the whole key must fit in S3's 1,024 UTF-8 bytes.
//!
//! Everything else is kept exactly as written: inner spaces, `+`, `%`, accents
//! and emoji, so `Love + War` and `Love  War` are different keys.

use std::fmt;

use crate::text::nfc;

use crate::error::Error;

/// The file name suffix of every stored book.
pub const SUFFIX: &str = ".json";

/// S3's limit on a key's length, in UTF-8 bytes.
pub const MAX_KEY_BYTES: usize = 1024;

/// What replaces a path separator in a title.
pub const SEPARATOR_REPLACEMENT: char = '_';

/// How many keys a book tries after its plain one when other books hold
/// them: `Title [id].json`, then `Title [id] (2).json` and so on.
pub const ALTERNATIVES: usize = 9;

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

    /// The keys to try, in order, when the plain key of `title` holds a
    /// different book: `Title [id].json`, then `Title [id] (2).json` up to
    /// [`ALTERNATIVES`] keys. Each is made lazily, so a long title only fails
    /// when its plain key is taken.
    ///
    /// Each item fails as [`ObjectKey::from_title`] does; the length limit
    /// counts the added id.
    pub fn alternatives<'a>(
        title: &'a str,
        id: &'a str,
    ) -> impl Iterator<Item = Result<Self, Error>> + 'a {
        (1..=ALTERNATIVES).map(move |n| {
            let id = file_name(id, "id")?;
            let qualifier = if n == 1 {
                format!(" [{id}]")
            } else {
                format!(" [{id}] ({n})")
            };
            Self::with_suffix(title, &qualifier)
        })
    }

    fn with_suffix(title: &str, qualifier: &str) -> Result<Self, Error> {
        let name = file_name(title, "title")?;
        if name.is_empty() {
            return Err(Error::EmptyField { field: "title" });
        }
        if name == "." || name == ".." {
            return Err(Error::InvalidField {
                field: "title",
                reason: format!("{name:?} is not a usable file name"),
            });
        }

        let key = format!("{name}{qualifier}{SUFFIX}");
        if key.len() > MAX_KEY_BYTES {
            return Err(Error::InvalidField {
                field: "title",
                reason: format!(
                    "the key would be {} bytes, more than S3's {MAX_KEY_BYTES}",
                    key.len()
                ),
            });
        }
        Ok(Self(key))
    }

    /// The key as a string.
    #[must_use]
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Steps 1 to 3 of the rule for one part of a key (`field` names it in errors).
fn file_name(text: &str, field: &'static str) -> Result<String, Error> {
    let composed = nfc(text);
    let name: String = composed
        .trim_matches(|c: char| c.is_whitespace() || invisible(c))
        .chars()
        .map(|c| {
            if c == '/' || c == '\\' {
                SEPARATOR_REPLACEMENT
            } else {
                c
            }
        })
        .collect();
    if let Some(bad) = name.chars().find(|c| c.is_control()) {
        return Err(Error::InvalidField {
            field,
            reason: format!("control character {bad:?} is not allowed"),
        });
    }
    if let Some(bad) = name.chars().find(|c| reorders_or_breaks(*c)) {
        return Err(Error::InvalidField {
            field,
            reason: format!("character {bad:?} would reorder or break the displayed name"),
        });
    }
    if let Some(bad) = name.chars().find(|c| hides(*c)) {
        return Err(Error::InvalidField {
            field,
            reason: format!("invisible character {bad:?} would make the name look like another"),
        });
    }
    Ok(name)
}

/// Bidirectional embeddings, overrides and isolates (which can make a name
/// display as something else), and the line and paragraph separators.
fn reorders_or_breaks(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}' | '\u{2028}' | '\u{2029}')
}

/// Invisible characters that have no use inside a title but to make it look
/// like another: zero-width space, word joiner and invisible operators, the
/// byte-order mark, the Mongolian vowel separator.
fn hides(c: char) -> bool {
    matches!(
        c,
        '\u{200b}' | '\u{2060}'..='\u{2064}' | '\u{feff}' | '\u{180e}'
    )
}

/// Invisible characters trimmed from both ends like whitespace: at an edge
/// they only hide. Inside a title, the joiners (emoji, Indic and Persian
/// scripts) and the direction marks (right-to-left text) stay.
fn invisible(c: char) -> bool {
    hides(c) || matches!(c, '\u{00ad}' | '\u{061c}' | '\u{200c}'..='\u{200f}')
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
    fn an_id_in_a_key_follows_the_same_rule_as_a_title() {
        let key = ObjectKey::alternatives("Shared Title", r"../..\evil").next();

        assert_eq!(
            key.map(|k| k.map(|k| k.to_string()).ok()),
            Some(Some("Shared Title [.._.._evil].json".into()))
        );
    }

    #[test]
    fn characters_that_reorder_or_break_the_displayed_name_are_rejected() {
        for title in [
            "abc\u{202e}gpj.exe",
            "a\u{2066}b",
            "line\u{2028}sep",
            "para\u{2029}sep",
        ] {
            assert!(
                key(title).is_err_and(|e| e.contains("field `title`")),
                "{title:?}"
            );
        }
        // Joiners are part of emoji sequences and stay.
        assert_eq!(
            key("family \u{1f468}\u{200d}\u{1f469}"),
            Ok("family \u{1f468}\u{200d}\u{1f469}.json".into())
        );
    }

    #[test]
    fn invisible_characters_cannot_make_a_lookalike_key() {
        assert_eq!(
            key("\u{feff}Foundation"),
            key("Foundation"),
            "trimmed at the edges"
        );
        assert_eq!(key("Foundation\u{200f}\u{200b}"), key("Foundation"));
        assert_eq!(key("\u{200b}"), Err("field `title` is empty".into()));
        assert!(key("Found\u{200b}ation").is_err_and(|e| e.contains("invisible character")));
        // Inside a title, joiners and direction marks have real uses.
        assert!(key("\u{5e9}\u{5dc}\u{5d5}\u{5dd}\u{200f} world").is_ok());
        assert!(key("\u{1f468}\u{200d}\u{1f469}").is_ok());
    }

    #[test]
    fn alternatives_carry_the_book_id_then_a_counter() {
        let keys: Vec<String> = ObjectKey::alternatives("Dune", "42")
            .map(|key| key.expect("valid").as_str().to_owned())
            .collect();

        assert_eq!(keys.len(), ALTERNATIVES);
        assert_eq!(keys[0], "Dune [42].json");
        assert_eq!(keys[1], "Dune [42] (2).json");
    }
}
