//! Pure domain types and rules: parsing, validation and policy, no I/O.

pub mod email;
pub mod page;
pub mod role;

pub use email::Email;
pub use role::{Role, RoleSet};
