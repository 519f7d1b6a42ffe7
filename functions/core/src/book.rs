//! A book record: parsed from one message body on its own, validated field by
//! field, and normalized, so that one bad body never fails its neighbours and
//! every rejection names the field at fault.

use crate::error::{Error, json_type, shorten};
use crate::text::nfc;
use serde::de::{Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Longest accepted `id`, in bytes. It travels in S3 object metadata, where
/// short, plain values belong.
pub const MAX_ID_BYTES: usize = 128;

/// The accepted range of `year`: four digits either side of year zero.
pub const YEARS: std::ops::RangeInclusive<i64> = -9999..=9999;

/// A validated, normalized book record.
///
/// Text fields are trimmed and in Unicode NFC. `genre` is still the text the
/// record carried (trimmed); [`crate::GenreRoutes`] turns it into a known genre.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Book {
    /// The book's identifier: printable ASCII, at most [`MAX_ID_BYTES`].
    pub id: String,
    /// The title, from which the object key is made.
    pub title: String,
    /// The author.
    pub author: String,
    /// The year, accepted as a number or as a string holding one.
    pub year: i32,
    /// The genre as written in the record.
    pub genre: String,
    /// The summary.
    pub summary: String,
}

impl Book {
    /// Parses and validates one message body.
    ///
    /// Unknown fields are ignored. `id` may be a string or a whole number;
    /// `year` may be a whole number or a string holding one.
    ///
    /// # Errors
    ///
    /// A permanent [`Error`] naming the field at fault when the body is not a
    /// JSON object, or a required field is missing, empty, of the wrong type or
    /// out of range.
    pub fn from_json(body: &str) -> Result<Self, Error> {
        let parsed: Body = serde_json::from_str(body).map_err(|err| Error::InvalidJson {
            reason: err.to_string(),
        })?;
        let fields = match parsed {
            Body::Object {
                repeated: Some(field),
                ..
            } => {
                return Err(Error::RepeatedField { field });
            }
            Body::Object { fields, .. } => fields,
            Body::Other { found } => return Err(Error::NotAnObject { found }),
        };

        Ok(Self {
            id: id(&fields)?,
            title: text(&fields, "title")?,
            author: text(&fields, "author")?,
            year: year(&fields)?,
            genre: text(&fields, "genre")?,
            summary: text(&fields, "summary")?,
        })
    }
}

/// A body read in one pass: an object's fields and the first field given
/// twice (a JSON parser keeps the last of two equal keys, and which one the
/// sender meant is unknowable), or the type of whatever else it is.
enum Body {
    Object {
        fields: Map<String, Value>,
        repeated: Option<String>,
    },
    Other {
        found: &'static str,
    },
}

impl<'de> Deserialize<'de> for Body {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(BodyVisitor)
    }
}

struct BodyVisitor;

impl<'de> Visitor<'de> for BodyVisitor {
    type Value = Body;

    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        formatter.write_str("a JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Body, A::Error> {
        let mut fields = Map::new();
        let mut repeated = None;
        while let Some(key) = map.next_key::<String>()? {
            let value: Value = map.next_value()?;
            if repeated.is_none() && fields.contains_key(&key) {
                repeated = Some(shorten(&key, 64).escape_debug().to_string());
            }
            fields.insert(key, value);
        }
        Ok(Body::Object { fields, repeated })
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Body, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(Body::Other { found: "an array" })
    }

    fn visit_str<E>(self, _: &str) -> Result<Body, E> {
        Ok(Body::Other { found: "a string" })
    }

    fn visit_bool<E>(self, _: bool) -> Result<Body, E> {
        Ok(Body::Other { found: "a boolean" })
    }

    fn visit_i64<E>(self, _: i64) -> Result<Body, E> {
        Ok(Body::Other { found: "a number" })
    }

    fn visit_u64<E>(self, _: u64) -> Result<Body, E> {
        Ok(Body::Other { found: "a number" })
    }

    fn visit_f64<E>(self, _: f64) -> Result<Body, E> {
        Ok(Body::Other { found: "a number" })
    }

    fn visit_unit<E>(self) -> Result<Body, E> {
        Ok(Body::Other { found: "null" })
    }
}

/// Looks up a required field; JSON `null` counts as present with the wrong type,
/// so the error says `found null` rather than `missing`.
fn field<'a>(fields: &'a Map<String, Value>, name: &'static str) -> Result<&'a Value, Error> {
    fields.get(name).ok_or(Error::MissingField { field: name })
}

/// A required, non-blank string, trimmed and in NFC.
fn text(fields: &Map<String, Value>, name: &'static str) -> Result<String, Error> {
    match field(fields, name)? {
        Value::String(raw) => non_blank(raw, name),
        other => Err(Error::WrongType {
            field: name,
            expected: "a string",
            found: json_type(other),
        }),
    }
}

fn non_blank(raw: &str, name: &'static str) -> Result<String, Error> {
    let normalized = nfc(raw.trim()).into_owned();
    if normalized.is_empty() {
        return Err(Error::EmptyField { field: name });
    }
    Ok(normalized)
}

fn id(fields: &Map<String, Value>) -> Result<String, Error> {
    let id = match field(fields, "id")? {
        Value::String(raw) => non_blank(raw, "id")?,
        Value::Number(number) if number.is_u64() || number.is_i64() => number.to_string(),
        // Beyond 64 bits JSON numbers lose digits, so the id cannot be kept.
        Value::Number(number) if number.as_f64().is_some_and(|n| n.abs() >= 2f64.powi(63)) => {
            return Err(Error::WrongType {
                field: "id",
                expected: "a string, or a whole number that fits in 64 bits",
                found: "a larger whole number (write it as a string)",
            });
        }
        other => {
            return Err(Error::WrongType {
                field: "id",
                expected: "a string or a whole number",
                found: json_type(other),
            });
        }
    };

    if id.len() > MAX_ID_BYTES {
        return Err(Error::InvalidField {
            field: "id",
            reason: format!("{} bytes is longer than {MAX_ID_BYTES}", id.len()),
        });
    }
    // The id is written into object metadata, which S3 carries as an HTTP header.
    if let Some(bad) = id.chars().find(|c| !(c.is_ascii_graphic() || *c == ' ')) {
        return Err(Error::InvalidField {
            field: "id",
            reason: format!("only printable ASCII is allowed, found {bad:?}"),
        });
    }
    Ok(id)
}

fn year(fields: &Map<String, Value>) -> Result<i32, Error> {
    const EXPECTED: &str = "a whole number or a string holding one";

    let year = match field(fields, "year")? {
        Value::Number(number) => number.as_i64().ok_or_else(|| Error::InvalidField {
            field: "year",
            reason: format!("{number} is not a whole number"),
        })?,
        Value::String(raw) => {
            let trimmed = raw.trim();
            if trimmed.is_empty() {
                return Err(Error::EmptyField { field: "year" });
            }
            trimmed.parse::<i64>().map_err(|_| Error::InvalidField {
                field: "year",
                reason: format!("{:?} is not a whole number", shorten(trimmed, 32)),
            })?
        }
        other => {
            return Err(Error::WrongType {
                field: "year",
                expected: EXPECTED,
                found: json_type(other),
            });
        }
    };

    if !YEARS.contains(&year) {
        return Err(Error::InvalidField {
            field: "year",
            reason: format!("{year} is outside {}..={}", YEARS.start(), YEARS.end()),
        });
    }
    // The range check above keeps the value well inside i32.
    i32::try_from(year).map_err(|_| Error::InvalidField {
        field: "year",
        reason: format!("{year} is out of range"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const LOREM: &str = r#"{"id":"12345","title":"LoremIpsum","author":"John Doe","year":"1960","genre":"romance","summary":"Lorem ipsum dolor sit amet."}"#;

    fn with(field: &str, value: &str) -> String {
        let mut record: Value = serde_json::from_str(LOREM).expect("fixture is JSON");
        record[field] = serde_json::from_str(value).expect("test value is JSON");
        record.to_string()
    }

    fn without(field: &str) -> String {
        let mut record: Value = serde_json::from_str(LOREM).expect("fixture is JSON");
        record
            .as_object_mut()
            .expect("fixture is an object")
            .remove(field);
        record.to_string()
    }

    fn error(body: &str) -> String {
        Book::from_json(body)
            .expect_err("body must be rejected")
            .to_string()
    }

    #[test]
    fn the_original_example_parses_and_its_year_becomes_a_number() {
        let book = Book::from_json(LOREM).expect("example is valid");

        assert_eq!(book.id, "12345");
        assert_eq!(book.title, "LoremIpsum");
        assert_eq!(book.author, "John Doe");
        assert_eq!(book.year, 1960);
        assert_eq!(book.genre, "romance");
    }

    #[test]
    fn year_is_accepted_as_a_number_or_a_padded_string() {
        assert_eq!(
            Book::from_json(&with("year", "1960")).map(|b| b.year).ok(),
            Some(1960)
        );
        assert_eq!(
            Book::from_json(&with("year", r#"" 1960 ""#))
                .map(|b| b.year)
                .ok(),
            Some(1960)
        );
        assert_eq!(
            Book::from_json(&with("year", "-800")).map(|b| b.year).ok(),
            Some(-800)
        );
    }

    #[test]
    fn year_null_fraction_text_and_range_are_rejected_naming_year() {
        for bad in [
            "null",
            "1960.5",
            r#""nineteen""#,
            "true",
            "[1960]",
            "100000",
            r#""""#,
        ] {
            let message = error(&with("year", bad));
            assert!(message.contains("`year`"), "{bad}: {message}");
        }
    }

    #[test]
    fn unknown_fields_are_ignored() {
        let book = Book::from_json(&with("isbn", r#""978-3-16-148410-0""#));

        assert!(book.is_ok());
    }

    #[test]
    fn each_missing_field_is_named() {
        for field in ["id", "title", "author", "year", "genre", "summary"] {
            assert_eq!(
                error(&without(field)),
                format!("field `{field}` is missing")
            );
        }
    }

    #[test]
    fn blank_and_mistyped_text_fields_are_named() {
        for field in ["title", "author", "genre", "summary"] {
            assert_eq!(
                error(&with(field, r#""  ""#)),
                format!("field `{field}` is empty")
            );
            assert_eq!(
                error(&with(field, "42")),
                format!("field `{field}` must be a string, found a number")
            );
        }
    }

    #[test]
    fn id_may_be_a_whole_number_but_not_anything_else() {
        assert_eq!(
            Book::from_json(&with("id", "12345")).map(|b| b.id).ok(),
            Some("12345".into())
        );
        assert!(error(&with("id", "1.5")).contains("`id`"));
        assert!(error(&with("id", "1e3")).contains("found a number"));
        assert_eq!(
            error(&with("id", "123456789012345678901234")),
            "field `id` must be a string, or a whole number that fits in 64 bits, \
             found a larger whole number (write it as a string)"
        );
        assert!(error(&with("id", r#""caf\u00e9""#)).contains("printable ASCII"));
        assert!(error(&with("id", &format!("\"{}\"", "9".repeat(129)))).contains("`id`"));
    }

    #[test]
    fn a_body_that_is_not_an_object_is_rejected() {
        assert_eq!(error("[1,2]"), "body must be a JSON object, found an array");
        assert_eq!(
            error("\"book\""),
            "body must be a JSON object, found a string"
        );
        assert!(error("{not json").starts_with("body is not valid JSON"));
        assert!(error("").starts_with("body is not valid JSON"));
    }

    #[test]
    fn a_field_given_twice_is_rejected_naming_it() {
        let body =
            r#"{"id":"1","title":"A","title":"B","author":"X","year":1,"genre":"g","summary":"s"}"#;

        assert_eq!(error(body), "field `title` appears more than once");
    }

    #[test]
    fn text_is_trimmed_and_composed() {
        let book = Book::from_json(&with("title", "\"  Cafe\\u0301 \"")).expect("valid");

        assert_eq!(book.title, "Caf\u{e9}");
    }
}
