//! Reading the Lambda deadline: the time an invocation must be finished by,
//! which the runtime gives as milliseconds since the Unix epoch.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The time left before `deadline_ms`, or `None` when there is no usable
/// deadline: `0` (not given) or a moment already past when the invocation
/// starts. No real invocation starts after its deadline; a local runtime that
/// sends something else (cargo-lambda sends the timeout's length there) must
/// not make every invocation look out of time.
#[must_use]
pub fn remaining(deadline_ms: u64, now: SystemTime) -> Option<Duration> {
    if deadline_ms == 0 {
        return None;
    }
    let deadline = UNIX_EPOCH + Duration::from_millis(deadline_ms);
    deadline
        .duration_since(now)
        .ok()
        .filter(|left| !left.is_zero())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_future_deadline_gives_the_time_left() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000);

        assert_eq!(remaining(1_030_000, now), Some(Duration::from_secs(30)));
    }

    #[test]
    fn no_deadline_or_a_past_one_is_not_usable() {
        let now = UNIX_EPOCH + Duration::from_secs(1_800_000_000);

        assert_eq!(remaining(0, now), None);
        // cargo-lambda's local runtime sends the timeout (10 minutes) here.
        assert_eq!(remaining(600_000, now), None);
    }
}
