//! Business hours: whether a moment is inside a weekly schedule, and when it next opens.
//! Plain arithmetic on microseconds (the guest has no time-zone database; schedules carry a
//! fixed UTC offset).

use tandem_plugin_sdk::{BusinessHours, Opening};

use crate::config::Hours;

const MINUTE: i64 = 60 * 1_000_000;
const DAY_MINUTES: i64 = 24 * 60;
const WEEK_MINUTES: i64 = 7 * DAY_MINUTES;

/// A schedule as minutes of the week (Monday 00:00 = 0), in local time.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Schedule {
    pub utc_offset_minutes: i32,
    /// (start, end) minutes of the week, end exclusive.
    pub windows: Vec<(i64, i64)>,
}

impl Schedule {
    pub fn from_inbox(hours: &BusinessHours) -> Schedule {
        Schedule { utc_offset_minutes: hours.utc_offset_minutes, windows: hours.windows.iter().filter_map(window_of).collect() }
    }

    pub fn from_config(hours: &Hours) -> Result<Schedule, String> {
        let mut windows = Vec::new();
        for (i, w) in hours.windows.iter().enumerate() {
            let start = parse_hhmm(&w.start).ok_or_else(|| format!("business_hours.windows[{i}].start: expected HH:MM, got {:?}", w.start))?;
            let end = parse_hhmm(&w.end).ok_or_else(|| format!("business_hours.windows[{i}].end: expected HH:MM, got {:?}", w.end))?;
            let opening = Opening { weekday: w.weekday, start_minute: start, end_minute: end };
            windows.push(window_of(&opening).ok_or_else(|| format!("business_hours.windows[{i}]: weekday 1..=7 and start < end"))?);
        }
        Ok(Schedule { utc_offset_minutes: hours.utc_offset_minutes, windows })
    }

    fn local_week_minute(&self, now_micros: i64) -> i64 {
        let local_minutes = now_micros.div_euclid(MINUTE) + i64::from(self.utc_offset_minutes);
        // 1970-01-01 was a Thursday: Monday 00:00 of that week was 3 days earlier.
        (local_minutes + 3 * DAY_MINUTES).rem_euclid(WEEK_MINUTES)
    }

    pub fn is_open(&self, now_micros: i64) -> bool {
        let m = self.local_week_minute(now_micros);
        self.windows.iter().any(|(s, e)| (*s..*e).contains(&m))
    }

    /// The next opening after `now` as (weekday 1..=7, minute of the day), local time.
    pub fn next_opening(&self, now_micros: i64) -> Option<(u8, i64)> {
        let m = self.local_week_minute(now_micros);
        let start = self.windows.iter().map(|(s, _)| *s).min_by_key(|s| (s - m - 1).rem_euclid(WEEK_MINUTES))?;
        Some(((start / DAY_MINUTES + 1) as u8, start % DAY_MINUTES))
    }
}

fn window_of(o: &Opening) -> Option<(i64, i64)> {
    if !(1..=7).contains(&o.weekday) || o.start_minute >= o.end_minute || i64::from(o.end_minute) > DAY_MINUTES {
        return None;
    }
    let day = i64::from(o.weekday - 1) * DAY_MINUTES;
    Some((day + i64::from(o.start_minute), day + i64::from(o.end_minute)))
}

fn parse_hhmm(text: &str) -> Option<u16> {
    let (h, m) = text.trim().split_once(':')?;
    let (h, m): (u16, u16) = (h.parse().ok()?, m.parse().ok()?);
    (h <= 24 && m < 60 && h * 60 + m <= 24 * 60).then_some(h * 60 + m)
}

/// "Monday 09:00 (UTC+01:00)" in the customer's language.
pub fn describe_opening(weekday: u8, minute: i64, utc_offset_minutes: i32, language: &str) -> String {
    const NAMES: &[(&str, [&str; 7])] = &[
        ("en", ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]),
        ("ru", ["понедельника", "вторника", "среды", "четверга", "пятницы", "субботы", "воскресенья"]),
        ("pl", ["poniedziałku", "wtorku", "środy", "czwartku", "piątku", "soboty", "niedzieli"]),
        ("fr", ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]),
    ];
    let names = NAMES.iter().find(|(l, _)| *l == language).unwrap_or(&NAMES[0]).1;
    let day = names[usize::from(weekday.clamp(1, 7) - 1)];
    let sign = if utc_offset_minutes < 0 { '-' } else { '+' };
    let offset = utc_offset_minutes.unsigned_abs();
    format!("{day} {:02}:{:02} (UTC{sign}{:02}:{:02})", minute / 60, minute % 60, offset / 60, offset % 60)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Window;
    use tandem_plugin_sdk::sample::MONDAY_9AM;

    fn office() -> Schedule {
        let windows = (1..=5).map(|d| Window { weekday: d, start: "09:00".to_owned(), end: "17:00".to_owned() }).collect();
        Schedule::from_config(&Hours { utc_offset_minutes: 60, windows }).expect("valid")
    }

    #[test]
    fn open_and_closed_with_an_offset() {
        let hour = 3_600 * 1_000_000;
        // 09:00 UTC Monday is 10:00 in UTC+1: open. 16:30 UTC is 17:30 local: closed.
        assert!(office().is_open(MONDAY_9AM));
        assert!(!office().is_open(MONDAY_9AM + 7 * hour + hour / 2));
        // 07:30 UTC is 08:30 local: closed, opens at 09:00 the same Monday.
        assert!(!office().is_open(MONDAY_9AM - hour - hour / 2));
        assert_eq!(office().next_opening(MONDAY_9AM - hour - hour / 2), Some((1, 9 * 60)));
        // Friday evening → Monday morning.
        let friday_evening = MONDAY_9AM + 4 * 24 * hour + 10 * hour;
        assert!(!office().is_open(friday_evening));
        assert_eq!(office().next_opening(friday_evening), Some((1, 9 * 60)));
    }

    #[test]
    fn bad_windows_are_reported() {
        let bad = Hours { utc_offset_minutes: 0, windows: vec![Window { weekday: 8, start: "09:00".into(), end: "10:00".into() }] };
        assert!(Schedule::from_config(&bad).is_err());
        let bad = Hours { utc_offset_minutes: 0, windows: vec![Window { weekday: 1, start: "9am".into(), end: "10:00".into() }] };
        assert!(Schedule::from_config(&bad).expect_err("bad time").contains("HH:MM"));
    }

    #[test]
    fn openings_read_naturally() {
        assert_eq!(describe_opening(1, 9 * 60, 60, "en"), "Monday 09:00 (UTC+01:00)");
        assert_eq!(describe_opening(5, 8 * 60 + 30, -300, "fr"), "vendredi 08:30 (UTC-05:00)");
        assert_eq!(describe_opening(1, 9 * 60, 180, "ru"), "понедельника 09:00 (UTC+03:00)");
    }
}
