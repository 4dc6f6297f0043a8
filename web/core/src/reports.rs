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
}
