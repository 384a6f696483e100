//! Calendar arithmetic for subscription periods and payout expectations.
//!
//! Both functions saturate instead of panicking: a far-future result is
//! harmless in a report, a panic in a resolver is not.

use chrono::{DateTime, Datelike, Days, Months, NaiveDate, Utc, Weekday};

/// `t` plus `months` calendar months, time of day kept, clamped to the last
/// day of a shorter month: 31 Jan + 1 month is 28 Feb (29 in a leap year),
/// as DESIGN.md's eligibility rules require. Saturates at
/// `DateTime::<Utc>::MAX_UTC` when the result is beyond chrono's range.
pub fn add_months(t: DateTime<Utc>, months: u32) -> DateTime<Utc> {
    // chrono's `checked_add_months` already clamps to the month's last day;
    // the tests below pin that behaviour down.
    t.checked_add_months(Months::new(months))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `date` plus `days` business days (Monday to Friday; public holidays are
/// not modelled), counted *after* the start: Friday + 1 is Monday, Friday + 3
/// is Wednesday (DESIGN.md, "Payouts").
///
/// A payout started on a weekend "counts from Monday": a Saturday or Sunday
/// start is first moved to the following Monday and the days are then
/// counted after that Monday, so Saturday + 3 = Sunday + 3 = Monday + 3 =
/// Thursday, and `days == 0` returns that Monday. Saturates at
/// `NaiveDate::MAX`, which may then fall on a weekend.
pub fn add_business_days(date: NaiveDate, days: u32) -> NaiveDate {
    let start = match date.weekday() {
        Weekday::Sat => forward(date, 2),
        Weekday::Sun => forward(date, 1),
        _ => date,
    };
    // Whole weeks keep the weekday, so jump them at once (this also keeps
    // `u32::MAX` days from looping billions of times), then step the rest.
    let mut d = forward(start, u64::from(days / 5) * 7);
    for _ in 0..days % 5 {
        d = forward(d, 1);
        while is_weekend(d) && d < NaiveDate::MAX {
            d = forward(d, 1);
        }
    }
    d
}

fn forward(date: NaiveDate, days: u64) -> NaiveDate {
    date.checked_add_days(Days::new(days))
        .unwrap_or(NaiveDate::MAX)
}

fn is_weekend(date: NaiveDate) -> bool {
    matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(s).unwrap().with_timezone(&Utc)
    }

    fn day(s: &str) -> NaiveDate {
        NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn add_months_clamps_to_month_end_and_keeps_time() {
        let cases = [
            ("2025-01-15T10:20:30Z", 1, "2025-02-15T10:20:30Z"),
            ("2025-01-31T10:00:00Z", 1, "2025-02-28T10:00:00Z"),
            ("2024-01-31T23:59:59.999Z", 1, "2024-02-29T23:59:59.999Z"),
            ("2024-01-30T00:00:00Z", 1, "2024-02-29T00:00:00Z"),
            ("2025-01-29T00:00:00Z", 1, "2025-02-28T00:00:00Z"),
            ("2025-03-31T08:00:00Z", 1, "2025-04-30T08:00:00Z"),
            ("2025-08-31T08:00:00Z", 3, "2025-11-30T08:00:00Z"),
            ("2025-08-31T08:00:00Z", 6, "2026-02-28T08:00:00Z"),
            ("2023-08-31T08:00:00Z", 6, "2024-02-29T08:00:00Z"),
            ("2028-02-29T12:00:00Z", 12, "2029-02-28T12:00:00Z"),
            ("2028-02-29T12:00:00Z", 48, "2032-02-29T12:00:00Z"),
            ("2100-01-31T00:00:00Z", 1, "2100-02-28T00:00:00Z"), // not a leap year
            ("2000-01-31T00:00:00Z", 1, "2000-02-29T00:00:00Z"), // a leap year
            ("2025-12-31T23:59:59Z", 1, "2026-01-31T23:59:59Z"),
            ("2025-11-30T00:00:00Z", 3, "2026-02-28T00:00:00Z"),
            ("2025-02-28T06:00:00Z", 1, "2025-03-28T06:00:00Z"), // no snapping to month end
            ("2025-05-17T01:02:03Z", 0, "2025-05-17T01:02:03Z"),
            ("2025-05-17T01:02:03Z", 120, "2035-05-17T01:02:03Z"),
        ];
        for (start, months, want) in cases {
            assert_eq!(
                add_months(at(start), months),
                at(want),
                "{start} + {months}"
            );
        }
    }

    #[test]
    fn add_months_saturates_instead_of_panicking() {
        let max = DateTime::<Utc>::MAX_UTC;
        let cases = [
            (at("2025-01-31T00:00:00Z"), u32::MAX),
            (max, 1),
            (max, 0),
            (max - chrono::TimeDelta::days(20), 1),
        ];
        for (start, months) in cases {
            assert_eq!(add_months(start, months), max, "{start} + {months}");
        }
    }

    #[test]
    fn add_business_days_skips_weekends() {
        // 2025-03-03 is a Monday.
        let cases = [
            ("2025-03-03", 0, "2025-03-03"), // Mon
            ("2025-03-03", 1, "2025-03-04"),
            ("2025-03-03", 3, "2025-03-06"), // Mon + 3 = Thu
            ("2025-03-03", 4, "2025-03-07"),
            ("2025-03-03", 5, "2025-03-10"), // a whole week
            ("2025-03-03", 10, "2025-03-17"),
            ("2025-03-06", 1, "2025-03-07"), // Thu + 1 = Fri
            ("2025-03-06", 2, "2025-03-10"), // Thu + 2 = Mon
            ("2025-03-07", 0, "2025-03-07"), // Fri
            ("2025-03-07", 1, "2025-03-10"), // Fri + 1 = Mon
            ("2025-03-07", 3, "2025-03-12"), // Fri + 3 = Wed (DESIGN.md)
            ("2025-03-07", 10, "2025-03-21"),
            ("2025-03-08", 0, "2025-03-10"), // Sat moves to Mon
            ("2025-03-08", 1, "2025-03-11"),
            ("2025-03-08", 3, "2025-03-13"), // Sat + 3 = Thu
            ("2025-03-09", 0, "2025-03-10"), // Sun moves to Mon
            ("2025-03-09", 3, "2025-03-13"), // Sun + 3 = Thu
            ("2025-03-09", 10, "2025-03-24"),
            ("2025-01-30", 3, "2025-02-04"), // Thu, across a month end
            ("2025-02-27", 3, "2025-03-04"), // Thu, across a short February
            ("2024-02-28", 1, "2024-02-29"), // Wed, leap day is a Thu
            ("2025-12-31", 3, "2026-01-05"), // Wed, across a year end
            ("2025-12-27", 10, "2026-01-12"), // Sat, across a year end
            ("2025-12-26", 10, "2026-01-09"), // Fri + 10 = Fri two weeks on
        ];
        for (start, days, want) in cases {
            assert_eq!(
                add_business_days(day(start), days),
                day(want),
                "{start} + {days}"
            );
        }
    }

    #[test]
    fn add_business_days_lands_on_weekdays_only() {
        let start = day("2025-03-01"); // a Saturday
        for offset in 0..14 {
            let from = forward(start, offset);
            for days in 0..=12 {
                let got = add_business_days(from, days);
                assert!(!is_weekend(got), "{from} + {days} = {got}");
                let weekdays_between = from
                    .iter_days()
                    .skip(1)
                    .take_while(|d| *d <= got)
                    .filter(|d| !is_weekend(*d))
                    .count();
                let moved = if is_weekend(from) { 1 } else { 0 };
                assert_eq!(weekdays_between, days as usize + moved, "{from} + {days}");
            }
        }
    }

    #[test]
    fn add_business_days_saturates_instead_of_panicking() {
        let max = NaiveDate::MAX;
        let cases = [
            (day("2025-03-07"), u32::MAX),
            (max, 0),
            (max, 1),
            (max, 10),
            (max - Days::new(3), 10),
        ];
        for (start, days) in cases {
            assert_eq!(add_business_days(start, days), max, "{start} + {days}");
        }
    }
}
