//! How long the live channel waits before reconnecting after its socket closed.

use std::time::Duration;

/// 0.5 s, 1 s, 2 s, 4 s, … at most 10 s.
pub fn delay(attempts: u32) -> Duration {
    let millis = 500u64.saturating_mul(1 << attempts.saturating_sub(1).min(5));
    Duration::from_millis(millis.min(10_000))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reconnect_delay_grows_and_is_capped() {
        assert_eq!(delay(1), Duration::from_millis(500));
        assert_eq!(delay(2), Duration::from_secs(1));
        assert_eq!(delay(4), Duration::from_secs(4));
        assert_eq!(delay(50), Duration::from_secs(10));
    }
}
