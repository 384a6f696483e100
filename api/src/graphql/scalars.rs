//! Scalars of the contract whose wire format we control.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};

use crate::error::code;
use crate::service::{in_time_range, truncate_micros, TIME_RANGE};

/// A malformed input value, coded BAD_USER_INPUT where it is raised: input
/// coercion runs inside execution, where an uncoded error counts as internal
/// (`http::response`).
pub fn invalid<T: async_graphql::InputType>(message: impl std::fmt::Display) -> InputValueError<T> {
    InputValueError::custom(message).with_extension("code", code::BAD_USER_INPUT)
}

/// The wrong JSON type for `T`, coded like [`invalid`].
pub fn wrong_type<T: async_graphql::InputType>(value: Value) -> InputValueError<T> {
    InputValueError::expected_type(value).with_extension("code", code::BAD_USER_INPUT)
}

/// `DateTime`: RFC 3339 in UTC on output (`2026-11-27T08:00:00Z`); any offset
/// accepted on input and converted to UTC, kept to the microsecond (what every
/// backend stores).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp(pub DateTime<Utc>);

#[Scalar(name = "DateTime")]
impl ScalarType for Timestamp {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Value::String(s) = &value else {
            return Err(wrong_type(value));
        };
        let t = DateTime::parse_from_rfc3339(s)
            .map_err(|_| invalid("expected an RFC 3339 date-time, e.g. 2026-11-27T08:00:00Z"))?
            .with_timezone(&Utc);
        if !in_time_range(t) {
            return Err(invalid(format!("date-times must lie {TIME_RANGE}")));
        }
        Ok(Timestamp(truncate_micros(t)))
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
    }
}

/// `NaiveDate` (the contract's `Date`): a calendar date, `YYYY-MM-DD`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Date(pub NaiveDate);

#[Scalar(name = "NaiveDate")]
impl ScalarType for Date {
    fn parse(value: Value) -> InputValueResult<Self> {
        let Value::String(s) = &value else {
            return Err(wrong_type(value));
        };
        NaiveDate::parse_from_str(s, "%Y-%m-%d")
            .map(Date)
            .map_err(|_| invalid("expected a date such as 2026-11-27"))
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.format("%Y-%m-%d").to_string())
    }
}

impl From<DateTime<Utc>> for Timestamp {
    fn from(t: DateTime<Utc>) -> Self {
        Timestamp(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats_utc_with_z_and_converts_offsets() {
        let t = Timestamp::parse(Value::String("2026-11-27T10:00:00+02:00".into())).unwrap();
        assert_eq!(t.to_value(), Value::String("2026-11-27T08:00:00Z".into()));
        let t = Timestamp::parse(Value::String("2026-11-27T08:00:00.1234567Z".into())).unwrap();
        assert_eq!(
            t.to_value(),
            Value::String("2026-11-27T08:00:00.123456Z".into())
        );
        for bad in ["2026-11-27", "yesterday", ""] {
            assert!(
                Timestamp::parse(Value::String(bad.into())).is_err(),
                "{bad}"
            );
        }
        assert!(Timestamp::parse(Value::Number(1.into())).is_err());
        for out_of_range in [
            "1969-12-31T23:59:59Z",
            "3000-01-01T00:00:00Z",
            "9999-01-01T00:00:00Z",
        ] {
            assert!(
                Timestamp::parse(Value::String(out_of_range.into())).is_err(),
                "{out_of_range}"
            );
        }
        for in_range in [
            "1970-01-01T00:00:00Z",
            "2038-01-19T03:14:08Z",
            "2999-12-31T23:59:59.999999Z",
        ] {
            assert!(
                Timestamp::parse(Value::String(in_range.into())).is_ok(),
                "{in_range}"
            );
        }
    }

    #[test]
    fn dates_round_trip_and_errors_carry_their_code() {
        let d = Date::parse(Value::String("2026-02-28".into())).unwrap();
        assert_eq!(d.to_value(), Value::String("2026-02-28".into()));
        for bad in [
            Value::String("2026-02-30".into()),
            Value::String("28.02.2026".into()),
            Value::Number(1.into()),
        ] {
            let err = Date::parse(bad.clone())
                .unwrap_err()
                .into_server_error(Default::default());
            assert_eq!(
                err.extensions.unwrap().get("code"),
                Some(&Value::from("BAD_USER_INPUT")),
                "{bad}"
            );
        }
    }
}
