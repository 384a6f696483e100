//! Property tests for every parser of client input: whatever the string,
//! a typed error or a value, never a panic; and valid values round-trip.

use api::domain::money::MAX_MINOR;
use api::domain::page::{CursorKey, PageRequest};
use api::domain::{Currency, Email, Money, MoneyError, Phone};
use api::graphql::money::Decimal;
use api::graphql::scalars::Timestamp;
use async_graphql::{ScalarType, Value};
use proptest::prelude::*;

const CURRENCIES: [&str; 6] = ["EUR", "JPY", "KWD", "USD", "eur", "XXX"];

/// Strings near the valid shapes (signs, dots, digits, separators, unicode)
/// find more edge cases than uniformly random text.
fn amountish() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            Just("0".to_string()),
            Just("9".to_string()),
            Just("-".to_string()),
            Just(".".to_string()),
            Just(" ".to_string()),
            Just("e".to_string()),
            Just("99999999999999999999".to_string()),
            Just("٣".to_string()),
            any::<char>().prop_map(String::from),
        ],
        0..12,
    )
    .prop_map(|parts| parts.concat())
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn money_never_panics(amount in prop_oneof![any::<String>(), amountish()], cur in prop::sample::select(&CURRENCIES[..])) {
        match Money::parse(&amount, cur) {
            Ok(m) => {
                // What parses prints back to the same value.
                let again = Money::parse(&m.to_decimal_string(), m.currency().code()).unwrap();
                prop_assert_eq!(again, m);
            }
            Err(MoneyError::UnknownCurrency(_) | MoneyError::Malformed | MoneyError::Overflow | MoneyError::TooManyDecimals { .. }) => {}
        }
    }

    #[test]
    fn any_currency_code_is_a_value_or_a_typed_error(code in any::<String>()) {
        if let Ok(c) = Currency::parse(&code) {
            prop_assert_eq!(Currency::parse(c.code()).unwrap(), c);
        }
    }

    #[test]
    fn minor_units_round_trip(minor in -MAX_MINOR..=MAX_MINOR, cur in prop::sample::select(&["EUR", "JPY", "KWD"][..])) {
        let m = Money::from_minor(minor, Currency::parse(cur).unwrap());
        prop_assert_eq!(Money::parse(&m.to_decimal_string(), cur).unwrap(), m);
    }

    #[test]
    fn amounts_beyond_the_ceiling_are_refused(minor in prop_oneof![(MAX_MINOR + 1)..=i64::MAX, i64::MIN..=(-MAX_MINOR - 1)], cur in prop::sample::select(&["EUR", "JPY", "KWD"][..])) {
        let m = Money::from_minor(minor, Currency::parse(cur).unwrap());
        prop_assert_eq!(Money::parse(&m.to_decimal_string(), cur), Err(MoneyError::Overflow));
    }

    #[test]
    fn overflowing_amounts_are_refused(digits in "[1-9][0-9]{19,40}", cur in prop::sample::select(&["EUR", "JPY", "KWD"][..])) {
        prop_assert_eq!(Money::parse(&digits, cur), Err(MoneyError::Overflow));
    }

    #[test]
    fn emails_never_panic_and_normalise_idempotently(raw in prop_oneof![any::<String>(), "[a-zA-Z0-9.+ ]{0,10}@[a-zA-Z0-9.-]{0,12}"]) {
        if let Ok(e) = Email::parse(&raw) {
            prop_assert!(e.as_str().len() <= Email::MAX_LEN);
            let again = Email::parse(e.as_str()).unwrap();
            prop_assert_eq!(again.as_str(), e.as_str());
            let _ = e.masked();
        }
    }

    #[test]
    fn phones_never_panic_and_normalise_idempotently(raw in prop_oneof![any::<String>(), "[+0-9 ()\\-.]{0,20}"]) {
        if let Ok(p) = Phone::parse(&raw) {
            prop_assert!(p.as_str().starts_with('+'));
            let again = Phone::parse(p.as_str()).unwrap();
            prop_assert_eq!(again.as_str(), p.as_str());
            let _ = p.masked();
        }
    }

    #[test]
    fn cursors_decode_what_they_encode_and_refuse_the_rest(bytes in any::<[u8; 16]>(), junk in any::<String>()) {
        let key = CursorKey::derive(b"parsers").for_list("list");
        let id = uuid::Uuid::from_bytes(bytes);
        prop_assert_eq!(key.decode(&key.encode(id)).unwrap(), id);
        prop_assert!(key.decode(&junk).is_err());
    }

    #[test]
    fn page_arguments_never_panic(first in any::<Option<i32>>(), last in any::<Option<i32>>(), after in any::<Option<String>>(), before in any::<Option<String>>()) {
        let key = CursorKey::derive(b"parsers").for_list("list");
        if let Ok(p) = PageRequest::parse(first, after.as_deref(), last, before.as_deref(), &key) {
            prop_assert!(p.size <= 100);
        }
    }

    #[test]
    fn date_times_never_panic_and_round_trip(raw in prop_oneof![any::<String>(), "[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\\.[0-9]{1,9})?(Z|[+-][0-9]{2}:[0-9]{2})"]) {
        if let Ok(t) = Timestamp::parse(Value::String(raw)) {
            let printed = t.to_value();
            prop_assert_eq!(Timestamp::parse(printed).unwrap(), t);
        }
    }

    #[test]
    fn valid_instants_round_trip(secs in 0i64..=2_147_483_647, micros in 0u32..1_000_000) {
        let t = chrono::DateTime::from_timestamp(secs, micros * 1_000).unwrap();
        let parsed = Timestamp::parse(Value::String(t.to_rfc3339())).unwrap();
        prop_assert_eq!(parsed.0, t);
    }

    #[test]
    fn decimals_refuse_non_strings(n in any::<i64>(), f in any::<f64>(), b in any::<bool>()) {
        prop_assert!(Decimal::parse(Value::from(n)).is_err());
        prop_assert!(Decimal::parse(Value::from(b)).is_err());
        if let Some(number) = async_graphql::Number::from_f64(f) {
            prop_assert!(Decimal::parse(Value::Number(number)).is_err());
        }
    }
}
