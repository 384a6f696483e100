//! Scalars of the contract whose wire format we control.

use async_graphql::{InputValueError, InputValueResult, Scalar, ScalarType, Value};
use chrono::{DateTime, SecondsFormat, Utc};

use crate::service::truncate_micros;

/// `DateTime`: RFC 3339 in UTC on output (`2026-11-27T08:00:00Z`); any offset
/// accepted on input and converted to UTC, kept to the microsecond (what every
/// backend stores).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Timestamp(pub DateTime<Utc>);

#[Scalar(name = "DateTime")]
impl ScalarType for Timestamp {
    fn parse(value: Value) -> InputValueResult<Self> {
        match &value {
            Value::String(s) => DateTime::parse_from_rfc3339(s)
                .map(|t| Timestamp(truncate_micros(t.with_timezone(&Utc))))
                .map_err(|_| {
                    InputValueError::custom(
                        "expected an RFC 3339 date-time, e.g. 2026-11-27T08:00:00Z",
                    )
                }),
            _ => Err(InputValueError::expected_type(value)),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.to_rfc3339_opts(SecondsFormat::AutoSi, true))
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
    }
}
