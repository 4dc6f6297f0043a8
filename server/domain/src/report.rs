//! Report arithmetic without I/O: durations as log-scale histogram buckets (so medians and
//! 90th percentiles come from a `GROUP BY` instead of sorting every ticket), percentiles from
//! such a histogram, days and ISO weeks, and the backlog series from its daily moves.

use chrono::{Datelike, Duration, NaiveDate};

/// Bucket `b` holds durations `d` (seconds) with `GROWTH^b ≤ d + 1 < GROWTH^(b+1)`: the value
/// reported for a bucket is within 5 % of every duration in it.
const GROWTH: f64 = 1.1;

/// The histogram bucket of a duration in seconds (negative durations count as zero).
pub fn bucket(seconds: i64) -> i64 {
    let d = seconds.max(0) as f64 + 1.0;
    (d.ln() / GROWTH.ln()).floor() as i64
}

/// The duration a bucket stands for: the geometric middle of its bounds, in seconds.
pub fn bucket_value(bucket: i64) -> i64 {
    (GROWTH.powf(bucket as f64 + 0.5) - 1.0).round().max(0.0) as i64
}

/// The `q`-quantile (0 < q ≤ 1, nearest rank) of a histogram given as (bucket, count) pairs in
/// any order; `None` when it is empty.
pub fn percentile(histogram: &[(i64, i64)], q: f64) -> Option<i64> {
    let total: i64 = histogram.iter().map(|(_, n)| n).sum();
    if total <= 0 {
        return None;
    }
    let mut sorted: Vec<(i64, i64)> = histogram.to_vec();
    sorted.sort_unstable();
    let rank = ((q * total as f64).ceil() as i64).clamp(1, total);
    let mut seen = 0;
    for (b, n) in sorted {
        seen += n;
        if seen >= rank {
            return Some(bucket_value(b));
        }
    }
    None
}

/// Days since the epoch of a timestamp in microseconds (UTC days).
pub fn day_of(micros: i64) -> i64 {
    micros.div_euclid(86_400_000_000)
}

pub fn date_of_day(day: i64) -> NaiveDate {
    NaiveDate::default() + Duration::days(day)
}

pub fn day_of_date(date: NaiveDate) -> i64 {
    (date - NaiveDate::default()).num_days()
}

/// The Monday starting the ISO week of a day.
pub fn week_start(day: i64) -> i64 {
    day - i64::from(date_of_day(day).weekday().num_days_from_monday())
}

/// The first day of the calendar month of a day.
pub fn month_start(day: i64) -> i64 {
    let date = date_of_day(day);
    day - i64::from(date.day0())
}

/// How a pre-aggregated period is read: whole calendar months, whole ISO weeks, loose days.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Span {
    /// Months starting on these first days (inclusive).
    Months(i64, i64),
    /// Weeks starting on these Mondays (inclusive).
    Weeks(i64, i64),
    /// Days (inclusive).
    Days(i64, i64),
}

/// Covers `from..=to` with as few pieces as possible: whole months, then whole weeks of what
/// is left on each side, then days. Every day is in exactly one piece.
pub fn cover(from: i64, to: i64) -> Vec<Span> {
    fn weeks(from: i64, to: i64, out: &mut Vec<Span>) {
        if from > to {
            return;
        }
        let first = if week_start(from) == from { from } else { week_start(from) + 7 };
        let last = week_start(to + 1) - 7;
        if first > last {
            out.push(Span::Days(from, to));
            return;
        }
        if from < first {
            out.push(Span::Days(from, first - 1));
        }
        out.push(Span::Weeks(first, last));
        if last + 6 < to {
            out.push(Span::Days(last + 7, to));
        }
    }
    let mut out = Vec::new();
    if from > to {
        return out;
    }
    let first = if month_start(from) == from { from } else { month_start(month_start(from) + 31) };
    // The first day of the last month that ends by `to`.
    let after = month_start(to + 1);
    if first < after {
        let last = month_start(after - 1);
        weeks(from, first - 1, &mut out);
        out.push(Span::Months(first, last));
        weeks(after, to, &mut out);
    } else {
        weeks(from, to, &mut out);
    }
    out
}

/// Open tickets at the end of each day `from..=to`, from the count open before `from` and how
/// the count moved each day (tickets that came into the backlog minus those that left it).
pub fn backlog(open_before: i64, from: i64, to: i64, moves: &[(i64, i64)]) -> Vec<(i64, i64)> {
    let mut open = open_before;
    (from..=to)
        .map(|day| {
            open += moves.iter().filter(|(d, _)| *d == day).map(|(_, n)| n).sum::<i64>();
            (day, open.max(0))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn percentiles_come_from_buckets_within_five_percent() {
        let durations = [60, 120, 300, 600, 3_600, 7_200, 86_400];
        let mut histogram: Vec<(i64, i64)> = Vec::new();
        for d in durations {
            let b = bucket(d);
            match histogram.iter_mut().find(|(x, _)| *x == b) {
                Some((_, n)) => *n += 1,
                None => histogram.push((b, 1)),
            }
        }
        let median = percentile(&histogram, 0.5).expect("median");
        assert!((median - 600).abs() * 20 <= 600, "median {median}");
        let p90 = percentile(&histogram, 0.9).expect("p90");
        assert!((p90 - 86_400).abs() * 20 <= 86_400, "p90 {p90}");
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn days_weeks_and_backlog() {
        let monday = day_of_date(NaiveDate::from_ymd_opt(2026, 11, 23).expect("date"));
        assert_eq!(week_start(monday + 3), monday);
        assert_eq!(week_start(monday), monday);
        assert_eq!(date_of_day(monday).to_string(), "2026-11-23");
        assert_eq!(day_of(86_400_000_000 * 3 + 5), 3);
        let series = backlog(10, 1, 3, &[(1, 5), (3, 2), (2, -4), (3, -1)]);
        assert_eq!(series, vec![(1, 15), (2, 11), (3, 12)]);
    }

    #[test]
    fn periods_are_covered_by_months_weeks_and_days() {
        let d = |y, m, dd| day_of_date(NaiveDate::from_ymd_opt(y, m, dd).expect("date"));
        // 2026-03-01 is a Sunday; March and April are whole; 2026-05-04 is a Monday.
        assert_eq!(
            cover(d(2026, 2, 25), d(2026, 5, 12)),
            vec![
                Span::Days(d(2026, 2, 25), d(2026, 2, 28)),
                Span::Months(d(2026, 3, 1), d(2026, 4, 1)),
                Span::Days(d(2026, 5, 1), d(2026, 5, 3)),
                Span::Weeks(d(2026, 5, 4), d(2026, 5, 4)),
                Span::Days(d(2026, 5, 11), d(2026, 5, 12)),
            ]
        );
        assert_eq!(cover(d(2026, 3, 4), d(2026, 3, 5)), vec![Span::Days(d(2026, 3, 4), d(2026, 3, 5))]);
        assert_eq!(month_start(d(2026, 12, 31)), d(2026, 12, 1));
    }

    proptest! {
        #[test]
        fn every_day_is_covered_once(from in 20_000i64..21_000, len in 0i64..800) {
            let to = from + len;
            let mut days = Vec::new();
            for span in cover(from, to) {
                match span {
                    Span::Days(a, b) => days.extend(a..=b),
                    Span::Weeks(a, b) => {
                        prop_assert!(week_start(a) == a && week_start(b) == b);
                        days.extend(a..b + 7);
                    }
                    Span::Months(a, b) => {
                        prop_assert!(month_start(a) == a && month_start(b) == b);
                        days.extend(a..month_start(b + 31));
                    }
                }
            }
            prop_assert_eq!(days, (from..=to).collect::<Vec<_>>());
        }

        #[test]
        fn a_bucket_value_is_within_five_percent(seconds in 30i64..(400 * 86_400)) {
            let value = bucket_value(bucket(seconds));
            prop_assert!((value - seconds).abs() as f64 <= 0.051 * seconds as f64 + 1.0, "{} → {}", seconds, value);
        }
    }
}
