//! Report figures as the report page writes them.

/// `45 min`, `3 h 10 min`, `2 d 4 h`.
pub fn duration(seconds: Option<i64>) -> String {
    let Some(s) = seconds else { return "—".into() };
    let minutes = (s + 30) / 60;
    match minutes {
        m if m < 60 => format!("{m} min"),
        m if m < 24 * 60 => match m % 60 {
            0 => format!("{} h", m / 60),
            rest => format!("{} h {rest} min", m / 60),
        },
        m => match (m / 60) % 24 {
            0 => format!("{} d", m / (24 * 60)),
            hours => format!("{} d {hours} h", m / (24 * 60)),
        },
    }
}

/// `33.3 %` (the server rounds to a tenth), `100 %`; `—` when there was nothing to count.
pub fn percent(value: Option<f64>) -> String {
    value.map(|v| format!("{v} %")).unwrap_or_else(|| "—".into())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_read_well() {
        assert_eq!(duration(None), "—");
        assert_eq!(duration(Some(45 * 60)), "45 min");
        assert_eq!(duration(Some(3 * 3600 + 600)), "3 h 10 min");
        assert_eq!(duration(Some(2 * 86_400 + 4 * 3600)), "2 d 4 h");
        assert_eq!(duration(Some(7200)), "2 h");
    }

    #[test]
    fn percentages_read_well() {
        assert_eq!(percent(None), "—");
        assert_eq!(percent(Some(33.3)), "33.3 %");
        assert_eq!(percent(Some(100.0)), "100 %");
        assert_eq!(percent(Some(0.0)), "0 %");
    }
}
