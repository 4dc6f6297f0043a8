//! Business hours: a time zone, working spans per weekday and whole-day holidays.
//!
//! [`Hours::add`] answers "when will this much working time have passed?" and
//! [`Hours::elapsed`] "how much working time lies between these two moments?". Spans are
//! local times converted through the time zone day by day, so daylight-saving changes move
//! them with the clock on the wall (a span that falls into a skipped hour shrinks).

use std::collections::BTreeSet;

use chrono::{Datelike, NaiveDate};
use jiff::{
    Timestamp,
    civil::Date,
    tz::TimeZone,
};
use tandem_proto::{Weekday, WorkingHours};

use crate::DomainError;

/// How far ahead a due time is looked for (a calendar of holidays only never answers).
const HORIZON_DAYS: usize = 3 * 366;
/// How many days `elapsed` walks at most (a ticket paused for years still answers).
const MAX_ELAPSED_DAYS: usize = 40 * 366;
pub const MAX_SPANS: usize = 7 * 8;
pub const MAX_HOLIDAYS: usize = 1_000;

/// Working time from `start` to `end`, minutes after local midnight (`end` ≤ 1440).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Span {
    start: u16,
    end: u16,
}

#[derive(Debug, Clone)]
pub struct BusinessCalendar {
    tz: TimeZone,
    /// Monday first.
    week: [Vec<Span>; 7],
    holidays: BTreeSet<Date>,
}

/// The hours an SLA clock runs in.
#[derive(Debug, Clone)]
pub enum Hours {
    /// Calendar hours: every moment counts.
    Always,
    Business(BusinessCalendar),
}

fn parse_minute(field: &str, text: &str) -> Result<u16, DomainError> {
    let bad = || DomainError::validation(field, format!("`{text}` is not a time of day as HH:MM (00:00 to 24:00)"));
    let (h, m) = text.split_once(':').ok_or_else(bad)?;
    if h.len() != 2 || m.len() != 2 {
        return Err(bad());
    }
    let h: u16 = h.parse().map_err(|_| bad())?;
    let m: u16 = m.parse().map_err(|_| bad())?;
    if m > 59 || h > 24 || (h == 24 && m != 0) {
        return Err(bad());
    }
    Ok(h * 60 + m)
}

fn weekday_index(day: Weekday) -> usize {
    Weekday::ALL.iter().position(|d| *d == day).unwrap_or(0)
}

fn to_jiff_date(day: NaiveDate) -> Result<Date, DomainError> {
    let month = i8::try_from(day.month()).unwrap_or(1);
    let dom = i8::try_from(day.day()).unwrap_or(1);
    i16::try_from(day.year())
        .ok()
        .and_then(|year| Date::new(year, month, dom).ok())
        .ok_or_else(|| DomainError::validation("holidays", format!("{day} is out of range")))
}

impl BusinessCalendar {
    /// Checks and builds a calendar from its wire form.
    pub fn new(time_zone: &str, hours: &[WorkingHours], holidays: &[NaiveDate]) -> Result<BusinessCalendar, DomainError> {
        let tz = TimeZone::get(time_zone)
            .map_err(|_| DomainError::validation("time_zone", format!("unknown time zone `{time_zone}` (use an IANA name such as Europe/Warsaw)")))?;
        if hours.is_empty() {
            return Err(DomainError::validation("hours", "a calendar needs at least one span of working hours"));
        }
        if hours.len() > MAX_SPANS {
            return Err(DomainError::validation("hours", format!("at most {MAX_SPANS} spans of working hours")));
        }
        if holidays.len() > MAX_HOLIDAYS {
            return Err(DomainError::validation("holidays", format!("at most {MAX_HOLIDAYS} holidays")));
        }
        let mut week: [Vec<Span>; 7] = Default::default();
        for h in hours {
            let span = Span { start: parse_minute("hours", &h.open)?, end: parse_minute("hours", &h.close)? };
            if span.start >= span.end {
                return Err(DomainError::validation("hours", format!("on {} the hours {}–{} close before they open", h.day, h.open, h.close)));
            }
            week[weekday_index(h.day)].push(span);
        }
        for (day, spans) in week.iter_mut().enumerate() {
            spans.sort();
            if spans.windows(2).any(|w| w[0].end > w[1].start) {
                return Err(DomainError::validation("hours", format!("the hours of {} overlap", Weekday::ALL[day])));
            }
        }
        let holidays = holidays.iter().map(|d| to_jiff_date(*d)).collect::<Result<_, _>>()?;
        Ok(BusinessCalendar { tz, week, holidays })
    }

    fn local_date(&self, at: i64) -> Option<Date> {
        Timestamp::from_microsecond(at).ok().map(|ts| self.tz.to_datetime(ts).date())
    }

    fn instant(&self, date: Date, minute: u16) -> Option<i64> {
        let (date, minute) = if minute >= 1440 { (date.tomorrow().ok()?, 0) } else { (date, minute) };
        let hour = i8::try_from(minute / 60).ok()?;
        let min = i8::try_from(minute % 60).ok()?;
        self.tz.to_timestamp(date.at(hour, min, 0, 0)).ok().map(|ts| ts.as_microsecond())
    }

    /// The working spans of one local day, as UTC microseconds.
    fn spans(&self, date: Date) -> Vec<(i64, i64)> {
        if self.holidays.contains(&date) {
            return Vec::new();
        }
        let day = usize::try_from(date.weekday().to_monday_zero_offset()).unwrap_or(0);
        self.week[day]
            .iter()
            .filter_map(|s| Some((self.instant(date, s.start)?, self.instant(date, s.end)?)))
            .filter(|(start, end)| end > start)
            .collect()
    }

    fn add(&self, from: i64, amount: i64) -> Option<i64> {
        let mut remaining = amount;
        let mut date = self.local_date(from)?;
        for _ in 0..HORIZON_DAYS {
            for (start, end) in self.spans(date) {
                if end <= from {
                    continue;
                }
                let start = start.max(from);
                if remaining <= end - start {
                    return Some(start + remaining);
                }
                remaining -= end - start;
            }
            date = date.tomorrow().ok()?;
        }
        None
    }

    fn elapsed(&self, from: i64, to: i64) -> i64 {
        let (Some(mut date), Some(last)) = (self.local_date(from), self.local_date(to)) else { return 0 };
        let mut total = 0;
        for _ in 0..MAX_ELAPSED_DAYS {
            if date > last {
                break;
            }
            for (start, end) in self.spans(date) {
                total += (end.min(to) - start.max(from)).max(0);
            }
            match date.tomorrow() {
                Ok(next) => date = next,
                Err(_) => break,
            }
        }
        total
    }
}

/// The same working hours Monday to Friday (an office week).
pub fn weekdays(open: &str, close: &str) -> Vec<WorkingHours> {
    [Weekday::Mon, Weekday::Tue, Weekday::Wed, Weekday::Thu, Weekday::Fri]
        .into_iter()
        .map(|day| WorkingHours { day, open: open.into(), close: close.into() })
        .collect()
}

impl Hours {
    /// The moment when `amount` microseconds of working time have passed after `from`; `None`
    /// when the calendar has no working time within three years.
    pub fn add(&self, from: i64, amount: i64) -> Option<i64> {
        if amount <= 0 {
            return Some(from);
        }
        match self {
            Hours::Always => from.checked_add(amount),
            Hours::Business(calendar) => calendar.add(from, amount),
        }
    }

    /// Working time between two moments (zero when `to` is not after `from`).
    pub fn elapsed(&self, from: i64, to: i64) -> i64 {
        if to <= from {
            return 0;
        }
        match self {
            Hours::Always => to - from,
            Hours::Business(calendar) => calendar.elapsed(from, to),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sla::MINUTE;
    use chrono::{TimeZone as _, Utc};
    use proptest::prelude::*;

    const HOUR: i64 = 60 * MINUTE;

    fn at(y: i32, mo: u32, d: u32, h: u32, mi: u32) -> i64 {
        Utc.with_ymd_and_hms(y, mo, d, h, mi, 0).single().map(|t| t.timestamp_micros()).unwrap_or_default()
    }

    fn office(tz: &str) -> Hours {
        let holidays = [NaiveDate::from_ymd_opt(2026, 12, 25).unwrap_or_default()];
        Hours::Business(BusinessCalendar::new(tz, &weekdays("09:00", "17:00"), &holidays).expect("valid calendar"))
    }

    #[test]
    fn calendar_hours_add_plainly() {
        assert_eq!(Hours::Always.add(at(2026, 11, 20, 16, 0), 4 * HOUR), Some(at(2026, 11, 20, 20, 0)));
        assert_eq!(Hours::Always.elapsed(at(2026, 11, 20, 16, 0), at(2026, 11, 20, 20, 0)), 4 * HOUR);
    }

    #[test]
    fn business_hours_carry_over_nights_and_weekends() {
        let hours = office("UTC");
        // Friday 16:00 + 4 working hours: 1 h on Friday, 3 h on Monday → Monday 12:00.
        assert_eq!(hours.add(at(2026, 11, 20, 16, 0), 4 * HOUR), Some(at(2026, 11, 23, 12, 0)));
        // A message on Saturday starts counting on Monday at 09:00.
        assert_eq!(hours.add(at(2026, 11, 21, 11, 0), 30 * MINUTE), Some(at(2026, 11, 23, 9, 30)));
        // Exactly at closing time the target is met that day.
        assert_eq!(hours.add(at(2026, 11, 20, 9, 0), 8 * HOUR), Some(at(2026, 11, 20, 17, 0)));
        assert_eq!(hours.elapsed(at(2026, 11, 20, 16, 0), at(2026, 11, 23, 12, 0)), 4 * HOUR);
        assert_eq!(hours.elapsed(at(2026, 11, 21, 0, 0), at(2026, 11, 22, 23, 0)), 0);
    }

    #[test]
    fn holidays_are_skipped() {
        let hours = office("UTC");
        // Thursday 24 Dec 16:00 + 2 h: 1 h that day, Christmas (Friday) off, the weekend off → Monday 28th 10:00.
        assert_eq!(hours.add(at(2026, 12, 24, 16, 0), 2 * HOUR), Some(at(2026, 12, 28, 10, 0)));
    }

    #[test]
    fn time_zones_and_daylight_saving_move_the_spans() {
        let hours = office("Europe/Warsaw");
        // 27 Mar 2026 (Friday) Warsaw is UTC+1: 09:00 local = 08:00 UTC.
        assert_eq!(hours.add(at(2026, 3, 27, 7, 0), HOUR), Some(at(2026, 3, 27, 9, 0)));
        // Monday 30 March, after the switch to UTC+2: 09:00 local = 07:00 UTC.
        assert_eq!(hours.add(at(2026, 3, 28, 12, 0), HOUR), Some(at(2026, 3, 30, 8, 0)));
    }

    #[test]
    fn bad_calendars_are_refused_with_the_field() {
        let err = |tz: &str, hours: Vec<WorkingHours>| BusinessCalendar::new(tz, &hours, &[]).err().map(|e| e.to_string()).unwrap_or_default();
        assert!(err("Mars/Olympus", weekdays("09:00", "17:00")).contains("unknown time zone"));
        assert!(err("UTC", vec![]).contains("at least one"));
        assert!(err("UTC", weekdays("17:00", "09:00")).contains("close before they open"));
        assert!(err("UTC", weekdays("9:00", "17:00")).contains("HH:MM"));
        assert!(err("UTC", weekdays("09:00", "24:30")).contains("HH:MM"));
        let mut overlapping = weekdays("09:00", "13:00");
        overlapping.push(WorkingHours { day: Weekday::Mon, open: "12:00".into(), close: "18:00".into() });
        assert!(err("UTC", overlapping).contains("overlap"));
        assert!(BusinessCalendar::new("UTC", &weekdays("00:00", "24:00"), &[]).is_ok());
    }

    proptest! {
        #[test]
        fn add_and_elapsed_agree(start in 0i64..(400 * 24 * 60), minutes in 1i64..(5 * 24 * 60), split in 0i64..(60 * 24 * 60)) {
            let base = at(2026, 1, 1, 0, 0);
            let from = base + start * MINUTE;
            for hours in [office("Europe/Warsaw"), office("America/New_York"), Hours::Always] {
                let due = hours.add(from, minutes * MINUTE).expect("a due time");
                prop_assert!(due >= from);
                prop_assert_eq!(hours.elapsed(from, due), minutes * MINUTE);
                // Elapsed time is additive over any split point.
                let mid = from + split * MINUTE;
                let whole = hours.elapsed(from, due.max(mid));
                prop_assert_eq!(whole, hours.elapsed(from, mid) + hours.elapsed(mid, due.max(mid)));
            }
        }
    }
}
