//! The subscription plans the shop sells: 1, 3, 6 or 12 months, for 1 to 10
//! devices (DESIGN.md, first paragraph).

/// A plan length in months; only the lengths the storefront sells.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PlanMonths(u8);

/// How many devices a subscription may be used on at once.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Devices(u8);

/// Why a plan value from a client or a stored row was refused; carries the
/// value so the message can name it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlanError {
    /// Not one of [`PlanMonths::ALLOWED`].
    #[error("a plan lasts 1, 3, 6 or 12 months, not {0}")]
    InvalidMonths(i32),
    /// Outside [`Devices::MIN`]..=[`Devices::MAX`].
    #[error("a plan covers {min} to {max} devices, not {0}", min = Devices::MIN, max = Devices::MAX)]
    InvalidDevices(i32),
}

impl PlanMonths {
    /// The plan lengths on sale.
    pub const ALLOWED: [u8; 4] = [1, 3, 6, 12];

    /// Accepts only a length on sale. Takes `i32` because that is what
    /// GraphQL `Int` and the database columns hand us.
    pub fn parse(months: i32) -> Result<Self, PlanError> {
        Self::ALLOWED
            .into_iter()
            .find(|&m| i32::from(m) == months)
            .map(PlanMonths)
            .ok_or(PlanError::InvalidMonths(months))
    }

    /// The number of months, as `period::add_months` takes it.
    pub fn get(self) -> u32 {
        u32::from(self.0)
    }
}

impl Devices {
    /// Fewest devices a plan covers.
    pub const MIN: u8 = 1;
    /// Most devices a plan covers.
    pub const MAX: u8 = 10;

    /// Accepts `MIN..=MAX`. Takes `i32` for the same reason as
    /// [`PlanMonths::parse`].
    pub fn parse(devices: i32) -> Result<Self, PlanError> {
        u8::try_from(devices)
            .ok()
            .filter(|d| (Self::MIN..=Self::MAX).contains(d))
            .map(Devices)
            .ok_or(PlanError::InvalidDevices(devices))
    }

    /// The number of devices.
    pub fn get(self) -> u32 {
        u32::from(self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plan_months_accepts_only_lengths_on_sale() {
        let cases = [
            (i32::MIN, false),
            (-1, false),
            (0, false),
            (1, true),
            (2, false),
            (3, true),
            (4, false),
            (5, false),
            (6, true),
            (7, false),
            (11, false),
            (12, true),
            (13, false),
            (24, false),
            (256 + 1, false), // would wrap to 1 in a u8 cast
            (i32::MAX, false),
        ];
        for (months, ok) in cases {
            match PlanMonths::parse(months) {
                Ok(p) => assert!(ok && i64::from(p.get()) == i64::from(months), "{months}"),
                Err(e) => assert!(!ok && e == PlanError::InvalidMonths(months), "{months}"),
            }
        }
    }

    #[test]
    fn devices_accepts_one_to_ten() {
        let cases = [
            (i32::MIN, false),
            (-1, false),
            (0, false),
            (1, true),
            (2, true),
            (9, true),
            (10, true),
            (11, false),
            (255, false),
            (256 + 1, false), // would wrap to 1 in a u8 cast
            (i32::MAX, false),
        ];
        for (devices, ok) in cases {
            match Devices::parse(devices) {
                Ok(d) => assert!(ok && i64::from(d.get()) == i64::from(devices), "{devices}"),
                Err(e) => assert!(!ok && e == PlanError::InvalidDevices(devices), "{devices}"),
            }
        }
    }

    #[test]
    fn errors_read_as_sentences() {
        let cases = [
            (
                PlanError::InvalidMonths(2),
                "a plan lasts 1, 3, 6 or 12 months, not 2",
            ),
            (
                PlanError::InvalidDevices(11),
                "a plan covers 1 to 10 devices, not 11",
            ),
            (
                PlanError::InvalidDevices(-1),
                "a plan covers 1 to 10 devices, not -1",
            ),
        ];
        for (err, want) in cases {
            assert_eq!(err.to_string(), want);
        }
    }
}
