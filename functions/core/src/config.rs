//! Configuration, read from the environment once at cold start into a typed
//! value. A missing or bad variable is named in the error, so a misdeployed
//! function fails at start-up and not on the first record.

use std::time::Duration;

use crate::error::Error;
use crate::genre::GenreRoutes;

/// `genre=bucket` pairs, comma-separated: `scifi=my-scifi,romance=my-romance`.
pub const GENRE_BUCKETS: &str = "GENRE_BUCKETS";
/// Optional `alias=genre` pairs; unset means the built-in science-fiction
/// spellings.
pub const GENRE_ALIASES: &str = "GENRE_ALIASES";
/// The URL of the FIFO dead-letter queue.
pub const DEAD_LETTER_QUEUE_URL: &str = "DEAD_LETTER_QUEUE_URL";
/// The URL of the FIFO input queue.
pub const INPUT_QUEUE_URL: &str = "INPUT_QUEUE_URL";
/// The input queue's visibility timeout in seconds (default 180, as the
/// template sets it); the visibility heartbeat is timed from it.
pub const VISIBILITY_TIMEOUT_SECONDS: &str = "VISIBILITY_TIMEOUT_SECONDS";

/// The visibility timeout assumed when [`VISIBILITY_TIMEOUT_SECONDS`] is unset.
pub const DEFAULT_VISIBILITY_TIMEOUT: Duration = Duration::from_secs(180);
/// Set to `true` to address S3 buckets by path rather than by host name. It is
/// on by itself when an endpoint override (`AWS_ENDPOINT_URL` or
/// `AWS_ENDPOINT_URL_S3`) points at an emulator.
pub const S3_FORCE_PATH_STYLE: &str = "S3_FORCE_PATH_STYLE";

/// What the processing pipeline needs to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Config {
    /// Genre to bucket routes.
    pub routes: GenreRoutes,
    /// Where bad records are parked.
    pub dead_letter_queue_url: String,
    /// Where records come from.
    pub input_queue_url: String,
    /// The input queue's visibility timeout.
    pub visibility_timeout: Duration,
    /// Whether S3 requests use path-style addressing.
    pub s3_force_path_style: bool,
}

impl Config {
    /// Reads the configuration from the process environment.
    ///
    /// # Errors
    ///
    /// [`Error::MissingVariable`] or [`Error::InvalidVariable`] naming the
    /// variable at fault.
    pub fn from_env() -> Result<Self, Error> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// Reads the configuration through `lookup`, which maps a variable name to
    /// its value.
    ///
    /// # Errors
    ///
    /// As [`Config::from_env`].
    pub fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Result<Self, Error> {
        let buckets = required(&lookup, GENRE_BUCKETS)?;
        let aliases = lookup(GENRE_ALIASES);
        let routes = GenreRoutes::parse(
            (GENRE_BUCKETS, &buckets),
            (GENRE_ALIASES, aliases.as_deref()),
        )?;

        let endpoint_override = ["AWS_ENDPOINT_URL", "AWS_ENDPOINT_URL_S3"]
            .iter()
            .any(|name| lookup(name).is_some_and(|value| !value.trim().is_empty()));
        let s3_force_path_style = match lookup(S3_FORCE_PATH_STYLE).as_deref().map(str::trim) {
            None | Some("") => endpoint_override,
            Some(flag) => flag.parse().map_err(|_| Error::InvalidVariable {
                variable: S3_FORCE_PATH_STYLE,
                reason: format!("{flag:?} is neither true nor false"),
            })?,
        };

        let visibility_timeout = match lookup(VISIBILITY_TIMEOUT_SECONDS).as_deref().map(str::trim)
        {
            None | Some("") => DEFAULT_VISIBILITY_TIMEOUT,
            Some(text) => match text.parse::<u64>() {
                // SQS allows 0 to 43,200 seconds; 0 leaves nothing to extend.
                Ok(seconds @ 1..=43_200) => Duration::from_secs(seconds),
                _ => {
                    return Err(Error::InvalidVariable {
                        variable: VISIBILITY_TIMEOUT_SECONDS,
                        reason: format!(
                            "{text:?} is not a whole number of seconds from 1 to 43200"
                        ),
                    });
                }
            },
        };

        Ok(Self {
            routes,
            dead_letter_queue_url: required(&lookup, DEAD_LETTER_QUEUE_URL)?,
            input_queue_url: required(&lookup, INPUT_QUEUE_URL)?,
            visibility_timeout,
            s3_force_path_style,
        })
    }
}

/// A variable that must be set to something other than whitespace.
///
/// # Errors
///
/// [`Error::MissingVariable`] when unset, [`Error::InvalidVariable`] when blank.
pub fn required(
    lookup: impl Fn(&str) -> Option<String>,
    variable: &'static str,
) -> Result<String, Error> {
    let value = lookup(variable).ok_or(Error::MissingVariable { variable })?;
    let value = value.trim();
    if value.is_empty() {
        return Err(Error::InvalidVariable {
            variable,
            reason: "it is empty".into(),
        });
    }
    Ok(value.to_owned())
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    fn config(vars: &[(&str, &str)]) -> Result<Config, String> {
        let vars: HashMap<String, String> = vars
            .iter()
            .map(|(name, value)| ((*name).to_owned(), (*value).to_owned()))
            .collect();
        Config::from_lookup(|name| vars.get(name).cloned()).map_err(|e| e.to_string())
    }

    const COMPLETE: [(&str, &str); 3] = [
        (GENRE_BUCKETS, "scifi=a-scifi,romance=a-romance"),
        (
            DEAD_LETTER_QUEUE_URL,
            "http://127.0.0.1:4566/000000000000/dlq.fifo",
        ),
        (
            INPUT_QUEUE_URL,
            "http://127.0.0.1:4566/000000000000/in.fifo",
        ),
    ];

    #[test]
    fn the_visibility_timeout_defaults_to_the_templates_and_is_checked() {
        let mut custom = COMPLETE.to_vec();
        custom.push((VISIBILITY_TIMEOUT_SECONDS, "30"));
        let mut zero = COMPLETE.to_vec();
        zero.push((VISIBILITY_TIMEOUT_SECONDS, "0"));

        assert_eq!(
            config(&COMPLETE).map(|c| c.visibility_timeout),
            Ok(DEFAULT_VISIBILITY_TIMEOUT)
        );
        assert_eq!(
            config(&custom).map(|c| c.visibility_timeout),
            Ok(Duration::from_secs(30))
        );
        assert!(config(&zero).is_err_and(|e| e.contains(VISIBILITY_TIMEOUT_SECONDS)));
    }

    #[test]
    fn each_missing_required_variable_is_named() {
        for skipped in [GENRE_BUCKETS, DEAD_LETTER_QUEUE_URL, INPUT_QUEUE_URL] {
            let vars: Vec<_> = COMPLETE
                .into_iter()
                .filter(|(n, _)| *n != skipped)
                .collect();

            assert_eq!(
                config(&vars),
                Err(format!("environment variable {skipped} is not set"))
            );
        }
    }

    #[test]
    fn a_blank_variable_is_named() {
        let error = config(&[
            (GENRE_BUCKETS, "scifi=a-scifi"),
            (DEAD_LETTER_QUEUE_URL, " "),
        ]);

        assert_eq!(
            error,
            Err("environment variable DEAD_LETTER_QUEUE_URL is invalid: it is empty".into())
        );
    }

    #[test]
    fn path_style_follows_an_endpoint_override_unless_set() {
        let plain = config(&COMPLETE).expect("valid");
        let mut emulated = COMPLETE.to_vec();
        emulated.push(("AWS_ENDPOINT_URL", "http://localhost:4566"));
        let mut forced_off = emulated.clone();
        forced_off.push((S3_FORCE_PATH_STYLE, "false"));
        let mut nonsense = COMPLETE.to_vec();
        nonsense.push((S3_FORCE_PATH_STYLE, "yes"));

        assert!(!plain.s3_force_path_style);
        assert!(config(&emulated).expect("valid").s3_force_path_style);
        assert!(!config(&forced_off).expect("valid").s3_force_path_style);
        assert!(config(&nonsense).is_err_and(|e| e.contains(S3_FORCE_PATH_STYLE)));
    }
}
