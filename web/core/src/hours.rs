//! The text formats of the SLA form: working hours as lines (`mon-fri 09:00-17:00`) and
//! holidays as dates. The server checks the values again.

use tandem_proto::{Weekday, WorkingHours};

/// `mon 09:00-17:00` or `mon-fri 09:00-17:00`, one span per line, into working hours.
pub fn parse_hours(text: &str) -> Result<Vec<WorkingHours>, String> {
    let mut hours = Vec::new();
    for line in text.lines().map(str::trim).filter(|l| !l.is_empty()) {
        let bad = || format!("“{line}”: write e.g. mon-fri 09:00-17:00");
        let (days, times) = line.split_once(char::is_whitespace).ok_or_else(bad)?;
        let (open, close) = times.trim().split_once('-').ok_or_else(bad)?;
        let day = |d: &str| d.trim().to_lowercase().parse::<Weekday>().map_err(|_| bad());
        let (first, last) = match days.split_once('-') {
            Some((a, b)) => (day(a)?, day(b)?),
            None => (day(days)?, day(days)?),
        };
        let index = |d: Weekday| Weekday::ALL.iter().position(|w| *w == d).unwrap_or(0);
        if index(last) < index(first) {
            return Err(bad());
        }
        for d in &Weekday::ALL[index(first)..=index(last)] {
            hours.push(WorkingHours { day: *d, open: open.trim().to_owned(), close: close.trim().to_owned() });
        }
    }
    Ok(hours)
}

/// The inverse of [`parse_hours`], one line per span.
pub fn format_hours(hours: &[WorkingHours]) -> String {
    hours.iter().map(|h| format!("{} {}-{}", h.day, h.open, h.close)).collect::<Vec<_>>().join("\n")
}

/// `2026-12-25, 2026-12-26` (commas or lines) into dates.
pub fn parse_holidays(text: &str) -> Result<Vec<chrono::NaiveDate>, String> {
    text.split([',', '\n'])
        .map(str::trim)
        .filter(|d| !d.is_empty())
        .map(|d| d.parse().map_err(|_| format!("“{d}”: write dates as YYYY-MM-DD")))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hours_are_written_as_lines() {
        let hours = parse_hours("mon-wed 09:00-17:00\n\nsat 10:00-14:00").expect("valid");
        assert_eq!(hours.len(), 4);
        assert_eq!(hours[2], WorkingHours { day: Weekday::Wed, open: "09:00".into(), close: "17:00".into() });
        assert_eq!(format_hours(&hours[3..]), "sat 10:00-14:00");
        assert!(parse_hours("someday 9-5").is_err());
        assert!(parse_hours("fri-mon 09:00-17:00").is_err());
        assert!(parse_holidays("2026-12-25, 2026-12-26").is_ok_and(|d| d.len() == 2));
        assert!(parse_holidays("Christmas").is_err());
    }
}
