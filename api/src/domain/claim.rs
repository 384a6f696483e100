//! The refund claim lifecycle (DESIGN.md "Claim lifecycle") as a pure
//! transition function.

use super::enums::ClaimStatus::{self, *};

/// Something staff (or the payout flow) does to a claim.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum ClaimAction {
    Assign,
    RequestInfo,
    AddEvidence,
    AddNote,
    /// A first approval; `needs_second` when the amount reaches the threshold.
    Approve {
        needs_second: bool,
    },
    /// The second approval of a dual-approval claim.
    SecondApprove,
    Reject,
    Withdraw,
    /// Settled payouts reached the approved amount.
    MarkRefunded,
}

/// The action is not allowed in the claim's current state.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the claim is {} and cannot be {}", .from.as_str(), .action.past_tense())]
pub struct InvalidTransition {
    pub from: ClaimStatus,
    pub action: ClaimAction,
}

impl ClaimAction {
    /// How the action reads in an error message ("cannot be approved").
    pub fn past_tense(&self) -> &'static str {
        match self {
            ClaimAction::Assign => "assigned",
            ClaimAction::RequestInfo => "asked for more information",
            ClaimAction::AddEvidence => "given evidence",
            ClaimAction::AddNote => "annotated",
            ClaimAction::Approve { .. } => "approved",
            ClaimAction::SecondApprove => "given a second approval",
            ClaimAction::Reject => "rejected",
            ClaimAction::Withdraw => "withdrawn",
            ClaimAction::MarkRefunded => "marked refunded",
        }
    }
}

/// Open claims block a second claim on the same order; APPROVED counts as
/// closed (its money is then tracked by its payout).
pub fn is_open(status: ClaimStatus) -> bool {
    matches!(
        status,
        Submitted | UnderReview | NeedsInfo | AwaitingSecondApproval
    )
}

/// The state after `action`, or why it is not allowed.
pub fn next_status(
    from: ClaimStatus,
    action: ClaimAction,
) -> Result<ClaimStatus, InvalidTransition> {
    let to = match (from, action) {
        (Submitted, ClaimAction::Assign) => Some(UnderReview),
        (s, ClaimAction::Assign | ClaimAction::AddNote) if is_open(s) => Some(s),
        (Submitted | UnderReview, ClaimAction::RequestInfo) => Some(NeedsInfo),
        (NeedsInfo, ClaimAction::AddEvidence) => Some(UnderReview),
        (s, ClaimAction::AddEvidence) if is_open(s) => Some(s),
        (Submitted | UnderReview | NeedsInfo, ClaimAction::Approve { needs_second }) => {
            Some(if needs_second {
                AwaitingSecondApproval
            } else {
                Approved
            })
        }
        (AwaitingSecondApproval, ClaimAction::SecondApprove) => Some(Approved),
        (s, ClaimAction::Reject) if is_open(s) => Some(Rejected),
        (Submitted | UnderReview | NeedsInfo, ClaimAction::Withdraw) => Some(Withdrawn),
        (Approved, ClaimAction::MarkRefunded) => Some(Refunded),
        _ => None,
    };
    to.ok_or(InvalidTransition { from, action })
}

#[cfg(test)]
mod tests {
    use super::*;

    const ALL_ACTIONS: [ClaimAction; 10] = [
        ClaimAction::Assign,
        ClaimAction::RequestInfo,
        ClaimAction::AddEvidence,
        ClaimAction::AddNote,
        ClaimAction::Approve {
            needs_second: false,
        },
        ClaimAction::Approve { needs_second: true },
        ClaimAction::SecondApprove,
        ClaimAction::Reject,
        ClaimAction::Withdraw,
        ClaimAction::MarkRefunded,
    ];

    /// Every allowed (from, action) → to of the lifecycle diagram; anything
    /// not listed must be refused.
    const ALLOWED: &[(ClaimStatus, ClaimAction, ClaimStatus)] = &[
        (Submitted, ClaimAction::Assign, UnderReview),
        (UnderReview, ClaimAction::Assign, UnderReview),
        (NeedsInfo, ClaimAction::Assign, NeedsInfo),
        (
            AwaitingSecondApproval,
            ClaimAction::Assign,
            AwaitingSecondApproval,
        ),
        (Submitted, ClaimAction::RequestInfo, NeedsInfo),
        (UnderReview, ClaimAction::RequestInfo, NeedsInfo),
        (Submitted, ClaimAction::AddEvidence, Submitted),
        (UnderReview, ClaimAction::AddEvidence, UnderReview),
        (NeedsInfo, ClaimAction::AddEvidence, UnderReview),
        (
            AwaitingSecondApproval,
            ClaimAction::AddEvidence,
            AwaitingSecondApproval,
        ),
        (Submitted, ClaimAction::AddNote, Submitted),
        (UnderReview, ClaimAction::AddNote, UnderReview),
        (NeedsInfo, ClaimAction::AddNote, NeedsInfo),
        (
            AwaitingSecondApproval,
            ClaimAction::AddNote,
            AwaitingSecondApproval,
        ),
        (
            Submitted,
            ClaimAction::Approve {
                needs_second: false,
            },
            Approved,
        ),
        (
            UnderReview,
            ClaimAction::Approve {
                needs_second: false,
            },
            Approved,
        ),
        (
            NeedsInfo,
            ClaimAction::Approve {
                needs_second: false,
            },
            Approved,
        ),
        (
            Submitted,
            ClaimAction::Approve { needs_second: true },
            AwaitingSecondApproval,
        ),
        (
            UnderReview,
            ClaimAction::Approve { needs_second: true },
            AwaitingSecondApproval,
        ),
        (
            NeedsInfo,
            ClaimAction::Approve { needs_second: true },
            AwaitingSecondApproval,
        ),
        (AwaitingSecondApproval, ClaimAction::SecondApprove, Approved),
        (Submitted, ClaimAction::Reject, Rejected),
        (UnderReview, ClaimAction::Reject, Rejected),
        (NeedsInfo, ClaimAction::Reject, Rejected),
        (AwaitingSecondApproval, ClaimAction::Reject, Rejected),
        (Submitted, ClaimAction::Withdraw, Withdrawn),
        (UnderReview, ClaimAction::Withdraw, Withdrawn),
        (NeedsInfo, ClaimAction::Withdraw, Withdrawn),
        (Approved, ClaimAction::MarkRefunded, Refunded),
    ];

    #[test]
    fn every_state_and_action_follows_the_lifecycle() {
        for from in ClaimStatus::ALL {
            for action in ALL_ACTIONS {
                let want = ALLOWED
                    .iter()
                    .find(|(f, a, _)| *f == *from && *a == action)
                    .map(|(_, _, to)| *to);
                let got = next_status(*from, action).ok();
                assert_eq!(got, want, "{from:?} + {action:?}");
            }
        }
    }

    #[test]
    fn open_states_are_the_undecided_ones() {
        let open: Vec<_> = ClaimStatus::ALL
            .iter()
            .copied()
            .filter(|s| is_open(*s))
            .collect();
        assert_eq!(
            open,
            [Submitted, UnderReview, NeedsInfo, AwaitingSecondApproval]
        );
    }
}
