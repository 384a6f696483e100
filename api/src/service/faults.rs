//! Fault injection for tests: a money mutation can be made to fail, or to
//! stall, right after its first write, to prove that the whole transaction
//! rolls back. A plan only exists when the embedding code puts one in
//! `Settings::faults`; nothing in the configuration or the CLI can, so a
//! production server never has one.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use crate::error::{AppError, AppResult};

/// What happens when execution reaches an armed point.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Fault {
    /// Fail with an internal error, as a lost connection would.
    Fail,
    /// Wait, holding the transaction open (for timeout tests).
    Stall(Duration),
}

/// Points are named after the audit action of the mutation they sit in
/// (`claim.approve`, `payout.retry`, ...).
#[derive(Debug, Default)]
pub struct FaultPlan {
    armed: Mutex<HashMap<String, Fault>>,
}

impl FaultPlan {
    pub fn arm(&self, point: &str, fault: Fault) {
        self.points().insert(point.to_string(), fault);
    }

    pub fn disarm(&self, point: &str) {
        self.points().remove(point);
    }

    fn points(&self) -> std::sync::MutexGuard<'_, HashMap<String, Fault>> {
        // A panic while holding this lock cannot leave the map inconsistent.
        self.armed.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Runs the fault armed at `point`, if any.
    pub async fn reach(&self, point: &str) -> AppResult<()> {
        let fault = self.points().get(point).copied();
        match fault {
            None => Ok(()),
            Some(Fault::Fail) => Err(AppError::internal(format!("injected fault at {point}"))),
            Some(Fault::Stall(d)) => {
                tokio::time::sleep(d).await;
                Ok(())
            }
        }
    }
}
