//! The ISO 4217 currencies the shop accepts, with their minor-unit digits.
//!
//! Kept apart from `money` only to keep both files short; use it through
//! `domain::money::Currency` or `domain::Currency`.

use super::money::MoneyError;

/// An ISO 4217 currency this shop accepts, with its number of minor digits.
/// Only [`Currency::parse`] builds one, so every value is in the table below.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct Currency {
    code: &'static str,
    exponent: u8,
}

/// The accepted currencies, grouped by exponent. Exponents follow ISO 4217
/// rather than what a payment provider may round to, so an amount's meaning
/// never depends on the provider.
#[rustfmt::skip]
const CURRENCIES: &[(&str, u8)] = &[
    ("EUR", 2), ("USD", 2), ("GBP", 2), ("CHF", 2), ("SEK", 2), ("NOK", 2),
    ("DKK", 2), ("PLN", 2), ("CZK", 2), ("HUF", 2), ("RON", 2), ("BGN", 2),
    ("CAD", 2), ("AUD", 2), ("NZD", 2), ("BRL", 2), ("MXN", 2), ("INR", 2),
    ("TRY", 2), ("ZAR", 2), ("AED", 2), ("SAR", 2), ("ILS", 2), ("SGD", 2),
    ("HKD", 2), ("CNY", 2),
    ("JPY", 0), ("KRW", 0), ("ISK", 0), ("CLP", 0), ("VND", 0), ("XOF", 0),
    ("XAF", 0),
    ("KWD", 3), ("BHD", 3), ("OMR", 3), ("JOD", 3), ("TND", 3), ("LYD", 3),
    ("IQD", 3),
];

impl Currency {
    /// Looks a code up in the built-in table, ignoring ASCII case and
    /// surrounding whitespace (clients send `eur` as often as `EUR`); anything
    /// else is [`MoneyError::UnknownCurrency`] carrying the input as given.
    pub fn parse(code: &str) -> Result<Currency, MoneyError> {
        let wanted = code.trim();
        CURRENCIES
            .iter()
            .find(|(c, _)| c.eq_ignore_ascii_case(wanted))
            .map(|&(code, exponent)| Currency { code, exponent })
            .ok_or_else(|| MoneyError::UnknownCurrency(code.to_string()))
    }

    /// The upper-case ISO code, e.g. `EUR`, as stored and sent on the wire.
    pub fn code(&self) -> &'static str {
        self.code
    }

    /// Number of decimal digits of the minor unit (2 for EUR, 0 for JPY,
    /// 3 for KWD).
    pub fn exponent(&self) -> u8 {
        self.exponent
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_listed_code_parses_with_its_exponent() {
        let groups: [(&[&str], u8); 3] = [
            (
                &[
                    "EUR", "USD", "GBP", "CHF", "SEK", "NOK", "DKK", "PLN", "CZK", "HUF", "RON",
                    "BGN", "CAD", "AUD", "NZD", "BRL", "MXN", "INR", "TRY", "ZAR", "AED", "SAR",
                    "ILS", "SGD", "HKD", "CNY",
                ],
                2,
            ),
            (&["JPY", "KRW", "ISK", "CLP", "VND", "XOF", "XAF"], 0),
            (&["KWD", "BHD", "OMR", "JOD", "TND", "LYD", "IQD"], 3),
        ];
        let mut total = 0;
        for (codes, exponent) in groups {
            for &code in codes {
                let c = Currency::parse(code).unwrap();
                assert_eq!((c.code(), c.exponent()), (code, exponent), "{code}");
                total += 1;
            }
        }
        // The table holds exactly the codes above, nothing more.
        assert_eq!(CURRENCIES.len(), total);
    }

    #[test]
    fn case_and_surrounding_whitespace_are_ignored() {
        let cases = [
            ("eur", "EUR", 2),
            ("Eur", "EUR", 2),
            (" usd\t", "USD", 2),
            ("jpy", "JPY", 0),
            ("kwd\n", "KWD", 3),
        ];
        for (raw, code, exponent) in cases {
            let c = Currency::parse(raw).unwrap();
            assert_eq!((c.code(), c.exponent()), (code, exponent), "{raw:?}");
        }
        assert_eq!(Currency::parse("eur"), Currency::parse("EUR"));
    }

    #[test]
    fn rejects_unknown_codes_keeping_the_input() {
        let cases = ["", "  ", "EU", "EURO", "E UR", "XXX", "BTC", "€", "EUR,"];
        for raw in cases {
            assert_eq!(
                Currency::parse(raw),
                Err(MoneyError::UnknownCurrency(raw.to_string())),
                "{raw:?}"
            );
        }
    }
}
