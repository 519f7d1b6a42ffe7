//! Genre routing: which bucket a book goes to, read from configuration so that a
//! new genre needs no code change.
//!
//! Matching trims, collapses inner whitespace, composes to NFC and ignores case.
//! Aliases map other spellings to a configured genre. An unknown genre is an
//! error listing the known ones; it never falls through to a default bucket.

use std::collections::BTreeMap;

use crate::text::nfc;

use crate::error::{Error, shorten};

/// The aliases used when none are configured: the usual spellings of science
/// fiction. Each applies only if its target genre is configured.
pub const DEFAULT_ALIASES: &str = "sci-fi=scifi,science fiction=scifi,science-fiction=scifi";

/// Where a book of some genre goes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Route<'a> {
    /// The genre's configured name, as stored in the file.
    pub genre: &'a str,
    /// The bucket that holds that genre's books.
    pub bucket: &'a str,
}

/// The configured genres, their buckets and their aliases.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct GenreRoutes {
    /// Genre name (normalized) to bucket.
    buckets: BTreeMap<String, String>,
    /// Alias (normalized) to genre name (normalized).
    aliases: BTreeMap<String, String>,
}

impl GenreRoutes {
    /// Builds the routes from the two configuration values.
    ///
    /// `buckets` is `genre=bucket` pairs separated by commas, for example
    /// `scifi=shelver-scifi,romance=shelver-romance`. `aliases` is
    /// `alias=genre` pairs in the same form; `None` means [`DEFAULT_ALIASES`].
    /// The variable names are only used in error messages.
    ///
    /// # Errors
    ///
    /// [`Error::InvalidVariable`] naming the variable when a pair is malformed,
    /// a bucket name is not a valid S3 bucket name, a genre is listed twice, or
    /// an alias points to a genre that is not configured.
    pub fn parse(
        buckets: (&'static str, &str),
        aliases: (&'static str, Option<&str>),
    ) -> Result<Self, Error> {
        let (buckets_variable, buckets_spec) = buckets;
        let (aliases_variable, aliases_spec) = aliases;
        let invalid = |variable, reason: String| Error::InvalidVariable { variable, reason };

        let mut routes = Self {
            buckets: BTreeMap::new(),
            aliases: BTreeMap::new(),
        };
        for (genre, bucket) in pairs(buckets_spec).map_err(|r| invalid(buckets_variable, r))? {
            validate_bucket_name(&bucket).map_err(|r| invalid(buckets_variable, r))?;
            if routes.buckets.insert(genre.clone(), bucket).is_some() {
                return Err(invalid(
                    buckets_variable,
                    format!("genre {genre:?} is listed twice"),
                ));
            }
        }
        if routes.buckets.is_empty() {
            return Err(invalid(buckets_variable, "no genre is configured".into()));
        }

        let explicit = aliases_spec.is_some();
        let spec = aliases_spec.unwrap_or(DEFAULT_ALIASES);
        for (alias, genre) in pairs(spec).map_err(|r| invalid(aliases_variable, r))? {
            let genre = normalize(&genre);
            if !routes.buckets.contains_key(&genre) {
                if explicit {
                    let reason = format!("alias {alias:?} points to unconfigured genre {genre:?}");
                    return Err(invalid(aliases_variable, reason));
                }
                continue;
            }
            routes.aliases.insert(alias, genre);
        }
        Ok(routes)
    }

    /// Finds the route for a genre as written in a record.
    ///
    /// # Errors
    ///
    /// [`Error::UnknownGenre`], listing the configured genres, when neither a
    /// genre nor an alias matches.
    pub fn resolve(&self, genre: &str) -> Result<Route<'_>, Error> {
        let wanted = normalize(genre);
        let name = self.aliases.get(&wanted).unwrap_or(&wanted);
        self.buckets
            .get_key_value(name)
            .map(|(genre, bucket)| Route { genre, bucket })
            .ok_or_else(|| Error::UnknownGenre {
                genre: shorten(genre.trim(), 64),
                known: self.genres().collect::<Vec<_>>().join(", "),
            })
    }

    /// The configured genre names, in alphabetical order.
    pub fn genres(&self) -> impl Iterator<Item = &str> {
        self.buckets.keys().map(String::as_str)
    }

    /// Every configured `(genre, bucket)` pair, in alphabetical order of genre.
    pub fn routes(&self) -> impl Iterator<Item = Route<'_>> {
        self.buckets
            .iter()
            .map(|(genre, bucket)| Route { genre, bucket })
    }
}

/// The form genres and aliases are compared in.
fn normalize(genre: &str) -> String {
    let composed = nfc(genre);
    composed
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
        .to_lowercase()
}

/// Splits `a=b,c=d` into pairs: the left side normalized (it is a genre or an
/// alias), the right side only trimmed (a bucket name must be exact).
fn pairs(spec: &str) -> Result<Vec<(String, String)>, String> {
    spec.split(',')
        .filter(|item| !item.trim().is_empty())
        .map(|item| {
            let (left, right) = item
                .split_once('=')
                .ok_or_else(|| format!("{:?} is not of the form name=value", shorten(item, 64)))?;
            let (left, right) = (normalize(left), right.trim());
            if left.is_empty() || right.is_empty() {
                return Err(format!("{:?} has an empty side", shorten(item, 64)));
            }
            Ok((left, right.to_owned()))
        })
        .collect()
}

/// S3's rules for general purpose bucket names, so a typo fails at cold start
/// and not on the first record.
fn validate_bucket_name(name: &str) -> Result<(), String> {
    let well_formed = (3..=63).contains(&name.len())
        && name
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'.' || b == b'-')
        && name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && !name.contains("..");
    if well_formed {
        Ok(())
    } else {
        Err(format!(
            "{:?} is not a valid S3 bucket name",
            shorten(name, 70)
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn routes() -> GenreRoutes {
        GenreRoutes::parse(
            (
                "GENRE_BUCKETS",
                "scifi=shelf-scifi, romance = shelf-romance",
            ),
            ("GENRE_ALIASES", None),
        )
        .expect("valid configuration")
    }

    #[test]
    fn scifi_is_reached_from_its_usual_spellings() {
        let routes = routes();

        for spelling in [
            "scifi",
            "Scifi",
            " SCIFI ",
            "sci-fi",
            "Sci-Fi",
            "science fiction",
            "Science  Fiction",
        ] {
            let route = routes.resolve(spelling).expect(spelling);
            assert_eq!(
                route,
                Route {
                    genre: "scifi",
                    bucket: "shelf-scifi"
                },
                "{spelling}"
            );
        }
    }

    #[test]
    fn romance_ignores_case_and_whitespace() {
        assert_eq!(
            routes().resolve("\tRomance\n").map(|r| r.bucket).ok(),
            Some("shelf-romance")
        );
    }

    #[test]
    fn an_unknown_genre_lists_the_known_ones() {
        let error = routes()
            .resolve("Horror")
            .expect_err("horror is not configured");

        assert_eq!(
            error.to_string(),
            r#"field `genre` names unknown genre "Horror"; known genres: romance, scifi"#
        );
    }

    #[test]
    fn a_new_genre_needs_only_configuration() {
        let routes = GenreRoutes::parse(
            (
                "GENRE_BUCKETS",
                "scifi=a-bucket,romance=b-bucket,horror=c-bucket",
            ),
            ("GENRE_ALIASES", Some("scary=horror")),
        )
        .expect("valid");

        assert_eq!(
            routes.resolve("Scary").map(|r| r.bucket).ok(),
            Some("c-bucket")
        );
        assert!(
            routes.resolve("sci-fi").is_err(),
            "explicit aliases replace the defaults"
        );
    }

    #[test]
    fn bad_configuration_names_the_variable() {
        let cases = [
            (("GENRE_BUCKETS", ""), None),
            (("GENRE_BUCKETS", "scifi"), None),
            (("GENRE_BUCKETS", "scifi=Bad_Bucket"), None),
            (("GENRE_BUCKETS", "scifi=a-bucket,SciFi=b-bucket"), None),
            (("GENRE_BUCKETS", "scifi=a-bucket"), Some("x=romance")),
        ];
        for ((variable, spec), aliases) in cases {
            let error = GenreRoutes::parse((variable, spec), ("GENRE_ALIASES", aliases))
                .expect_err(spec)
                .to_string();
            let named = if aliases.is_some() {
                "GENRE_ALIASES"
            } else {
                "GENRE_BUCKETS"
            };
            assert!(error.contains(named), "{spec}: {error}");
        }
    }
}
