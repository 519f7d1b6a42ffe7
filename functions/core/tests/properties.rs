//! Property tests: no input makes the record parser or the key rule panic,
//! every rejection names the field (or the body) at fault, and every accepted
//! key obeys the rule.

use proptest::prelude::*;
use serde_json::{Map, Value, json};
use shelver::ObjectKey;
use shelver::book::Book;
use shelver::key::{MAX_KEY_BYTES, SUFFIX};
use unicode_normalization::UnicodeNormalization;

const FIELDS: [&str; 6] = ["id", "title", "author", "year", "genre", "summary"];

/// Any JSON value, nested a little.
fn any_json() -> impl Strategy<Value = Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i64>().prop_map(|n| json!(n)),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(|f| json!(f)),
        ".{0,40}".prop_map(Value::String),
        "[0-9 +-]{0,8}".prop_map(Value::String),
    ];
    leaf.prop_recursive(2, 8, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..3).prop_map(Value::Array),
            prop::collection::btree_map(".{0,6}", inner, 0..3)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// A record whose known fields are each absent or any value, plus some
/// unknown fields.
fn any_record() -> impl Strategy<Value = String> {
    (
        prop::collection::vec(prop::option::of(any_json()), FIELDS.len()),
        prop::collection::btree_map("[a-z]{1,8}", any_json(), 0..3),
    )
        .prop_map(|(values, extra)| {
            let mut record: Map<String, Value> = extra.into_iter().collect();
            for (name, value) in FIELDS.iter().zip(values) {
                match value {
                    Some(value) => record.insert((*name).to_owned(), value),
                    None => record.remove(*name),
                };
            }
            Value::Object(record).to_string()
        })
}

fn names_its_field(message: &str) -> bool {
    message.starts_with("body ")
        || FIELDS
            .iter()
            .any(|field| message.starts_with(&format!("field `{field}`")))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2_000))]

    #[test]
    fn any_text_parses_or_is_rejected_without_panicking(body in ".{0,200}") {
        if let Err(error) = Book::from_json(&body) {
            prop_assert!(names_its_field(&error.to_string()), "{error}");
        }
    }

    #[test]
    fn every_rejected_record_names_its_field(body in any_record()) {
        match Book::from_json(&body) {
            Ok(book) => {
                prop_assert!(!book.title.is_empty() && !book.id.is_empty());
                prop_assert!((-9999..=9999).contains(&book.year));
            }
            Err(error) => prop_assert!(names_its_field(&error.to_string()), "{error} for {body}"),
        }
    }

    #[test]
    fn every_key_obeys_the_rule(title in "\\PC{0,300}|.{0,300}|[./\\\\ ]{0,6}") {
        match ObjectKey::from_title(&title) {
            Ok(key) => {
                let key = key.as_str();
                prop_assert!(key.len() <= MAX_KEY_BYTES);
                prop_assert!(key.ends_with(SUFFIX));
                prop_assert!(!key.contains('/') && !key.contains('\\'));
                prop_assert!(!key.chars().any(char::is_control));
                prop_assert_eq!(key.nfc().collect::<String>(), key.to_owned());
                prop_assert!(key != "..json" && key != "...json" || title.trim() == "...");
            }
            Err(error) => prop_assert!(error.to_string().starts_with("field `title`"), "{error}"),
        }
    }

    #[test]
    fn alternative_keys_never_name_a_folder(title in ".{1,40}", id in "[ -~]{1,20}") {
        for key in ObjectKey::alternatives(&title, &id).flatten() {
            prop_assert!(!key.as_str().contains('/'), "{key}");
        }
    }

    #[test]
    fn a_long_title_is_rejected_by_length_not_by_a_panic(title in "[a-zé🚀]{300,600}") {
        if let Err(error) = ObjectKey::from_title(&title) {
            prop_assert!(error.to_string().contains("bytes"), "{error}");
        }
    }
}
