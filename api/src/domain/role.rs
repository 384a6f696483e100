//! Staff roles and the sets of them a staff member holds.

use std::fmt;
use std::str::FromStr;

/// A staff role, as in DESIGN.md's roles table.
#[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
pub enum Role {
    Admin,
    RefundManager,
    Finance,
    SupportAgent,
    Analyst,
    Integration,
}

impl Role {
    /// Every role, in the order of the roles table.
    pub const ALL: [Role; 6] = [
        Role::Admin,
        Role::RefundManager,
        Role::Finance,
        Role::SupportAgent,
        Role::Analyst,
        Role::Integration,
    ];

    /// The stored and wire name, e.g. `REFUND_MANAGER`.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Admin => "ADMIN",
            Role::RefundManager => "REFUND_MANAGER",
            Role::Finance => "FINANCE",
            Role::SupportAgent => "SUPPORT_AGENT",
            Role::Analyst => "ANALYST",
            Role::Integration => "INTEGRATION",
        }
    }
}

impl fmt::Display for Role {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A name that is not one of the roles.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown role {0:?}")]
pub struct UnknownRole(pub String);

impl FromStr for Role {
    type Err = UnknownRole;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Role::ALL
            .into_iter()
            .find(|r| r.as_str().eq_ignore_ascii_case(s.trim()))
            .ok_or_else(|| UnknownRole(s.to_string()))
    }
}

/// A non-empty, duplicate-free, ordered set of roles.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleSet(Vec<Role>);

impl RoleSet {
    /// Validates a list given by a client: at least one role; duplicates collapse.
    pub fn parse(roles: &[Role]) -> Result<Self, &'static str> {
        let mut v = roles.to_vec();
        v.sort();
        v.dedup();
        if v.is_empty() {
            return Err("at least one role is required");
        }
        Ok(RoleSet(v))
    }

    /// Reads the stored comma-separated form; unknown names are an error, so a
    /// corrupted row never silently grants or drops a role.
    pub fn from_stored(s: &str) -> Result<Self, UnknownRole> {
        let roles = s
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(Role::from_str)
            .collect::<Result<Vec<_>, _>>()?;
        RoleSet::parse(&roles).map_err(|_| UnknownRole(s.to_string()))
    }

    /// The stored form, e.g. `ADMIN,FINANCE`.
    pub fn to_stored(&self) -> String {
        self.0
            .iter()
            .map(|r| r.as_str())
            .collect::<Vec<_>>()
            .join(",")
    }

    pub fn contains(&self, role: Role) -> bool {
        self.0.contains(&role)
    }

    /// True when this set holds at least one of `allowed`.
    pub fn any_of(&self, allowed: &[Role]) -> bool {
        allowed.iter().any(|r| self.contains(*r))
    }

    pub fn as_slice(&self) -> &[Role] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_every_role_by_its_wire_name() {
        for role in Role::ALL {
            assert_eq!(role.as_str().parse::<Role>(), Ok(role));
        }
        assert!("root".parse::<Role>().is_err());
    }

    #[test]
    fn role_sets_round_trip_and_reject_empty_or_unknown() {
        let set = RoleSet::parse(&[Role::Finance, Role::Admin, Role::Finance]).unwrap();
        assert_eq!(set.to_stored(), "ADMIN,FINANCE");
        assert_eq!(RoleSet::from_stored("ADMIN,FINANCE"), Ok(set));
        assert!(RoleSet::parse(&[]).is_err());
        assert!(RoleSet::from_stored("").is_err());
        assert!(RoleSet::from_stored("ADMIN,GOD").is_err());
    }

    #[test]
    fn any_of_checks_intersection() {
        let set = RoleSet::parse(&[Role::Analyst]).unwrap();
        assert!(set.any_of(&[Role::Admin, Role::Analyst]));
        assert!(!set.any_of(&[Role::Admin, Role::Finance]));
    }
}
