//! Money on the wire: `Decimal` strings, never floats.

use async_graphql::{InputObject, InputValueResult, Scalar, ScalarType, SimpleObject, Value};

use super::eager::Eager;
use super::scalars::invalid;
use crate::domain::{Currency, Money};
use crate::error::{AppError, AppResult};

/// `Decimal`: a JSON string holding a plain decimal ("12.50"). Numbers are
/// refused: a JSON number may already have been rounded by a float parser.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Decimal(pub String);

#[Scalar(name = "Decimal")]
impl ScalarType for Decimal {
    fn parse(value: Value) -> InputValueResult<Self> {
        match value {
            Value::String(s) => Ok(Decimal(s)),
            other => Err(invalid(format!(
                "Decimal must be a string such as \"12.50\", got {other}"
            ))),
        }
    }

    fn to_value(&self) -> Value {
        Value::String(self.0.clone())
    }
}

#[derive(SimpleObject, Clone, Debug)]
#[graphql(name = "Money")]
pub struct MoneyFields {
    pub amount: Decimal,
    pub currency: String,
}

/// `Money` in the schema; resolved eagerly, as every amount of a page is.
pub type MoneyObject = Eager<MoneyFields>;

impl From<Money> for MoneyObject {
    fn from(m: Money) -> Self {
        Eager(MoneyFields {
            amount: Decimal(m.to_decimal_string()),
            currency: m.currency().code().to_string(),
        })
    }
}

/// Builds the output for a stored amount; an unknown stored currency is a bug.
pub fn money(minor: i64, currency: &str) -> AppResult<MoneyObject> {
    let c = Currency::parse(currency).map_err(AppError::internal)?;
    Ok(Money::from_minor(minor, c).into())
}

/// Builds the output for a sum of amounts, which may be wider than `i64`.
pub fn money_sum(minor: i128, currency: &str) -> AppResult<MoneyObject> {
    let c = Currency::parse(currency).map_err(AppError::internal)?;
    Ok(Eager(MoneyFields {
        amount: Decimal(crate::domain::money::decimal_string(minor, c)),
        currency: c.code().to_string(),
    }))
}

#[derive(InputObject, Clone, Debug)]
pub struct MoneyInput {
    pub amount: Decimal,
    pub currency: String,
}

impl TryFrom<MoneyInput> for Money {
    type Error = AppError;

    fn try_from(input: MoneyInput) -> AppResult<Money> {
        Money::parse(&input.amount.0, &input.currency)
            .map_err(|e| AppError::bad_input(e.to_string()))
    }
}
