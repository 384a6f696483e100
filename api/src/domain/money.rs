//! Money as integer minor units of an ISO 4217 currency, never floats.
//!
//! The database stores `i64` minor units and the wire carries decimal strings
//! (DESIGN.md, "Money invariant"); this module converts between the two and
//! refuses anything that would lose a cent, wrap around or mix currencies.

pub use super::currency::Currency;

/// An amount in integer minor units (cents for EUR) of one currency.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Money {
    minor: i64,
    currency: Currency,
}

/// Why an amount or currency from a client was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MoneyError {
    /// The code is not in the built-in currency table.
    #[error("{0:?} is not a supported currency code")]
    UnknownCurrency(String),
    /// Not a plain decimal such as `12.50`.
    #[error("the amount must be a plain decimal number such as 12.50")]
    Malformed,
    /// More fractional digits than the currency has (e.g. `1.005` EUR).
    #[error("{}", decimals_message(.currency, .max))]
    TooManyDecimals {
        /// The currency's ISO code.
        currency: &'static str,
        /// The currency's exponent: the most decimals it allows.
        max: u8,
    },
    /// More than [`MAX_MINOR`] minor units either way.
    #[error("the amount is too large: at most {MAX_MINOR} minor units")]
    Overflow,
}

fn decimals_message(currency: &str, max: &u8) -> String {
    match max {
        0 => format!("{currency} amounts cannot have decimal places"),
        _ => format!("{currency} amounts allow at most {max} decimal places"),
    }
}

/// Largest amount accepted from outside, in minor units (10^12: ten billion
/// euros). Far inside `i64`, so sums of many amounts, checked or widened to
/// `i128`, never come near overflowing.
pub const MAX_MINOR: i64 = 1_000_000_000_000;

impl Money {
    /// Wraps a stored amount; every `i64` is a valid amount.
    pub fn from_minor(minor: i64, currency: Currency) -> Money {
        Money { minor, currency }
    }

    /// Parses a wire amount: optional `-`, digits, optionally `.` and at least
    /// one digit. Exponents, `+`, inner spaces and separators are refused so
    /// that one string has one reading; extra decimals are an error rather
    /// than rounded, because rounding would silently move money.
    pub fn parse(amount: &str, currency: &str) -> Result<Money, MoneyError> {
        let currency = Currency::parse(currency)?;
        let s = amount.trim();
        let (negative, body) = match s.strip_prefix('-') {
            Some(rest) => (true, rest),
            None => (false, s),
        };
        let (int_part, frac_part) = match body.split_once('.') {
            Some((i, f)) => (i, Some(f)),
            None => (body, None),
        };
        let all_digits = |p: &str| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit());
        if !all_digits(int_part) || frac_part.is_some_and(|f| !all_digits(f)) {
            return Err(MoneyError::Malformed);
        }
        let frac = frac_part.unwrap_or("");
        let exp = usize::from(currency.exponent());
        if frac.len() > exp {
            return Err(MoneyError::TooManyDecimals {
                currency: currency.code(),
                max: currency.exponent(),
            });
        }
        // Accumulate the magnitude in i128 and stop as soon as it exceeds the
        // ceiling, so arbitrarily long digit strings cannot overflow i128.
        let limit = i128::from(MAX_MINOR);
        let padding = std::iter::repeat_n(b'0', exp - frac.len());
        let mut magnitude: i128 = 0;
        for b in int_part.bytes().chain(frac.bytes()).chain(padding) {
            magnitude = magnitude * 10 + i128::from(b - b'0');
            if magnitude > limit {
                return Err(MoneyError::Overflow);
            }
        }
        let signed = if negative { -magnitude } else { magnitude };
        let minor = i64::try_from(signed).map_err(|_| MoneyError::Overflow)?;
        Ok(Money { minor, currency })
    }

    /// The amount in minor units, as stored.
    pub fn minor(&self) -> i64 {
        self.minor
    }

    /// The amount's currency.
    pub fn currency(&self) -> Currency {
        self.currency
    }

    /// True when strictly above zero (refunds and payouts must be).
    pub fn is_positive(&self) -> bool {
        self.minor > 0
    }

    /// The wire form: exactly `exponent` fractional digits (`12.50`, `-0.05`,
    /// `7` for JPY).
    pub fn to_decimal_string(&self) -> String {
        decimal_string(i128::from(self.minor), self.currency)
    }

    /// Sum of two amounts; `None` when the currencies differ or on overflow.
    pub fn checked_add(self, other: Money) -> Option<Money> {
        self.combine(other, i64::checked_add)
    }

    /// Difference of two amounts; `None` when the currencies differ or on overflow.
    pub fn checked_sub(self, other: Money) -> Option<Money> {
        self.combine(other, i64::checked_sub)
    }

    fn combine(self, other: Money, op: fn(i64, i64) -> Option<i64>) -> Option<Money> {
        if self.currency != other.currency {
            return None;
        }
        op(self.minor, other.minor).map(|minor| Money::from_minor(minor, self.currency))
    }
}

/// The wire form of any number of minor units, sums included (see
/// [`Money::to_decimal_string`]). Uses the unsigned magnitude so `i128::MIN`
/// cannot panic.
pub fn decimal_string(minor: i128, currency: Currency) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let magnitude = minor.unsigned_abs();
    let width = usize::from(currency.exponent());
    if width == 0 {
        return format!("{sign}{magnitude}");
    }
    let scale = 10u128.pow(u32::from(currency.exponent()));
    let (units, fraction) = (magnitude / scale, magnitude % scale);
    format!("{sign}{units}.{fraction:0width$}")
}

/// The pro-rata share `amount × unused ÷ period`, rounded down so the shop
/// never suggests more than the unused share. Computed in i128 (the product of
/// two i64 always fits), `unused` clamped to `0..=period`; a non-positive
/// period or amount gives 0, since there is nothing meaningful to share.
pub fn pro_rata(amount_minor: i64, unused_secs: i64, period_secs: i64) -> i64 {
    if amount_minor <= 0 || period_secs <= 0 {
        return 0;
    }
    let unused = unused_secs.clamp(0, period_secs);
    let share = i128::from(amount_minor) * i128::from(unused) / i128::from(period_secs);
    // unused ≤ period, so share ≤ amount and always fits back into i64.
    i64::try_from(share).unwrap_or(amount_minor)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cur(code: &str) -> Currency {
        Currency::parse(code).unwrap()
    }

    fn eur(minor: i64) -> Money {
        Money::from_minor(minor, cur("EUR"))
    }

    #[test]
    fn parses_plain_decimals() {
        #[rustfmt::skip]
        let cases = [
            ("1.50", "EUR", 150),          ("1.5", "EUR", 150),
            ("12", "EUR", 1200),           ("0", "EUR", 0),
            ("-0.00", "EUR", 0),           ("-0.05", "EUR", -5),
            (" 7.25\n", "eur", 725),       ("007.10", "EUR", 710),
            ("100", "JPY", 100),           ("-3", "JPY", -3),
            ("1.234", "KWD", 1234),        ("1.2", "KWD", 1200),
            ("10000000000.00", "EUR", MAX_MINOR),
            ("-10000000000.00", "EUR", -MAX_MINOR),
            ("1000000000000", "JPY", MAX_MINOR),
            ("1000000000.000", "KWD", MAX_MINOR),
        ];
        for (amount, code, minor) in cases {
            let m = Money::parse(amount, code).unwrap();
            assert_eq!((m.minor(), m.currency()), (minor, cur(code)), "{amount:?}");
        }
    }

    #[test]
    fn rejects_malformed_strings() {
        let cases = [
            "", "  ", "-", ".5", "-.5", "1.", "1.2.3", "+1", "--1", "1-", "1e2", "1E2", "1 000",
            "1,000", "1,5", "- 1", "1 .5", "0x10", "١٢", "NaN", "inf", "€1",
        ];
        for amount in cases {
            let got = Money::parse(amount, "EUR");
            assert_eq!(got, Err(MoneyError::Malformed), "{amount:?}");
        }
    }

    #[test]
    fn rejects_extra_decimals_overflow_and_unknown_currency() {
        let too_many = |currency, max| MoneyError::TooManyDecimals { currency, max };
        let unknown = || MoneyError::UnknownCurrency("ABC".into());
        let nines = "9".repeat(200);
        #[rustfmt::skip]
        let cases = [
            ("1.005", "EUR", too_many("EUR", 2)),  ("1.000", "EUR", too_many("EUR", 2)),
            ("1.5", "JPY", too_many("JPY", 0)),    ("100.0", "JPY", too_many("JPY", 0)),
            ("1.2345", "KWD", too_many("KWD", 3)), ("1", "ABC", unknown()), ("x", "ABC", unknown()),
            ("10000000000.01", "EUR", MoneyError::Overflow),
            ("-10000000000.01", "EUR", MoneyError::Overflow),
            ("1000000000001", "JPY", MoneyError::Overflow),
            ("92233720368547758.07", "EUR", MoneyError::Overflow),
            ("-92233720368547758.08", "EUR", MoneyError::Overflow),
            ("99999999999999999999.99", "EUR", MoneyError::Overflow),
            ("9223372036854775808", "JPY", MoneyError::Overflow),
            (nines.as_str(), "JPY", MoneyError::Overflow),
        ];
        for (amount, code, err) in cases {
            assert_eq!(Money::parse(amount, code), Err(err), "{amount:?} {code}");
        }
    }

    #[test]
    fn formats_exact_decimals_and_round_trips() {
        #[rustfmt::skip]
        let cases = [
            (1250, "EUR", "12.50"),  (-5, "EUR", "-0.05"),   (0, "EUR", "0.00"),
            (100, "EUR", "1.00"),    (-100, "EUR", "-1.00"), (7, "JPY", "7"),
            (-7, "JPY", "-7"),       (1234, "KWD", "1.234"), (5, "KWD", "0.005"),
            (i64::MAX, "EUR", "92233720368547758.07"),
            (i64::MIN, "EUR", "-92233720368547758.08"),
            (i64::MIN, "JPY", "-9223372036854775808"),
            (i64::MIN, "KWD", "-9223372036854775.808"),
        ];
        for (minor, code, want) in cases {
            let m = Money::from_minor(minor, cur(code));
            assert_eq!(m.to_decimal_string(), want, "{minor} {code}");
            // Stored extremes still print; only amounts within the ceiling
            // come back in.
            let back = Money::parse(want, code);
            if minor.unsigned_abs() <= MAX_MINOR.unsigned_abs() {
                assert_eq!(back, Ok(m), "{want}");
            } else {
                assert_eq!(back, Err(MoneyError::Overflow), "{want}");
            }
        }
        // Sums wider than i64 print too.
        let wide = i128::from(i64::MAX) * 3;
        assert_eq!(decimal_string(wide, cur("EUR")), "276701161105643274.21");
        assert_eq!(decimal_string(-wide, cur("JPY")), "-27670116110564327421");
    }

    #[test]
    fn sign_and_checked_arithmetic() {
        let usd = Money::from_minor(1, cur("USD"));
        let cases = [
            (eur(150).checked_add(eur(25)), Some(eur(175))),
            (eur(150).checked_sub(eur(200)), Some(eur(-50))),
            (eur(1).checked_add(usd), None),
            (eur(1).checked_sub(usd), None),
            (eur(i64::MAX).checked_add(eur(1)), None),
            (eur(i64::MAX).checked_add(eur(0)), Some(eur(i64::MAX))),
            (eur(i64::MIN).checked_sub(eur(1)), None),
            (eur(0).checked_sub(eur(i64::MIN)), None),
        ];
        for (i, (got, want)) in cases.into_iter().enumerate() {
            assert_eq!(got, want, "case {i}");
        }
        for (minor, positive) in [(1, true), (i64::MAX, true), (0, false), (-1, false)] {
            assert_eq!(eur(minor).is_positive(), positive, "{minor}");
        }
    }

    #[test]
    fn pro_rata_rounds_down_and_clamps() {
        let (day, month) = (86_400, 30 * 86_400);
        #[rustfmt::skip]
        let cases = [
            (1000, 15 * day, month, 500),     (999, 1, 2, 499),       (1, 1, 3, 0),
            (2, 2, 3, 1),                     (1000, 0, month, 0),    (1000, -5, month, 0),
            (1000, month, month, 1000),       (1000, month + 1, month, 1000),
            (1000, i64::MAX, month, 1000),    (1000, i64::MIN, month, 0),
            (1000, 10, 0, 0),                 (1000, 10, -1, 0),      (1000, 10, i64::MIN, 0),
            (0, 10, 20, 0),                   (-1000, 10, 20, 0),     (i64::MIN, 10, 20, 0),
            (i64::MAX, i64::MAX - 1, i64::MAX, i64::MAX - 1),
            (i64::MAX, i64::MAX, i64::MAX, i64::MAX),
            (i64::MAX, 1, i64::MAX, 1),
        ];
        for (amount, unused, period, want) in cases {
            let got = pro_rata(amount, unused, period);
            assert_eq!(got, want, "{amount} × {unused} ÷ {period}");
        }
    }

    #[test]
    fn errors_read_as_sentences() {
        let too_many = |currency, max| MoneyError::TooManyDecimals { currency, max };
        #[rustfmt::skip]
        let cases = [
            (MoneyError::UnknownCurrency("ABC".into()), "\"ABC\" is not a supported currency code"),
            (MoneyError::Malformed, "the amount must be a plain decimal number such as 12.50"),
            (too_many("EUR", 2), "EUR amounts allow at most 2 decimal places"),
            (too_many("JPY", 0), "JPY amounts cannot have decimal places"),
            (MoneyError::Overflow, "the amount is too large: at most 1000000000000 minor units"),
        ];
        for (err, want) in cases {
            assert_eq!(err.to_string(), want);
        }
    }
}
