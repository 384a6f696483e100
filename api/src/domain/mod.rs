//! Pure domain types and rules: parsing, validation and policy, no I/O.

pub mod claim;
pub mod currency;
pub mod email;
pub mod enums;
pub mod money;
pub mod page;
pub mod period;
pub mod phone;
pub mod plan;
pub mod policy;
pub mod role;

pub use email::Email;
pub use money::{Currency, Money, MoneyError};
pub use phone::Phone;
pub use plan::{Devices, PlanMonths};
pub use role::{Role, RoleSet};
