//! The contract's enums, stored as their wire names (e.g. `PARTIALLY_REFUNDED`).

/// Declares an enum that is both a GraphQL enum and a stored string, with
/// `as_str`, `FromStr` and `ALL`, so the two spellings can never drift apart.
#[macro_export]
macro_rules! stored_enum {
    ($(#[$meta:meta])* $name:ident { $($variant:ident => $wire:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(async_graphql::Enum, Copy, Clone, Debug, PartialEq, Eq, Hash)]
        #[graphql(rename_items = "SCREAMING_SNAKE_CASE")]
        pub enum $name {
            $($variant),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// The stored and wire name.
            pub fn as_str(self) -> &'static str {
                match self {
                    $($name::$variant => $wire),+
                }
            }
        }

        impl std::str::FromStr for $name {
            type Err = $crate::domain::enums::UnknownValue;

            fn from_str(s: &str) -> Result<Self, Self::Err> {
                match s {
                    $($wire => Ok($name::$variant),)+
                    _ => Err($crate::domain::enums::UnknownValue {
                        kind: stringify!($name),
                        value: s.to_string(),
                    }),
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// A stored value that names no variant: a corrupted row or a missed migration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown {kind} {value:?}")]
pub struct UnknownValue {
    pub kind: &'static str,
    pub value: String,
}

stored_enum!(
    /// Where an order stands; refunds and chargebacks move it on.
    OrderStatus {
        Pending => "PENDING",
        Paid => "PAID",
        PartiallyRefunded => "PARTIALLY_REFUNDED",
        Refunded => "REFUNDED",
        ChargedBack => "CHARGED_BACK",
        Cancelled => "CANCELLED",
    }
);

stored_enum!(
    /// How the customer paid (refunds go back the same way when possible).
    PaymentMethod {
        Card => "CARD",
        Paypal => "PAYPAL",
        Crypto => "CRYPTO",
        BankTransfer => "BANK_TRANSFER",
        Other => "OTHER",
    }
);

stored_enum!(
    /// How access details were sent.
    DeliveryChannel {
        Email => "EMAIL",
        Whatsapp => "WHATSAPP",
        Other => "OTHER",
    }
);

stored_enum!(
    /// An activation's state; `Expired` is derived from the clock, never stored.
    ActivationStatus {
        PendingDelivery => "PENDING_DELIVERY",
        Active => "ACTIVE",
        Suspended => "SUSPENDED",
        Terminated => "TERMINATED",
        Expired => "EXPIRED",
    }
);

stored_enum!(
    /// How a customer reached the shop.
    ContactChannel {
        Website => "WEBSITE",
        Email => "EMAIL",
        Whatsapp => "WHATSAPP",
        Phone => "PHONE",
        Other => "OTHER",
    }
);

stored_enum!(
    /// Why the customer wants their money back.
    ClaimReason {
        NotDelivered => "NOT_DELIVERED",
        NotWorking => "NOT_WORKING",
        ServiceOutage => "SERVICE_OUTAGE",
        DuplicatePayment => "DUPLICATE_PAYMENT",
        WrongPlan => "WRONG_PLAN",
        ChangedMind => "CHANGED_MIND",
        DeviceIncompatible => "DEVICE_INCOMPATIBLE",
        NetworkOrIsp => "NETWORK_OR_ISP",
        Other => "OTHER",
    }
);

stored_enum!(
    /// A refund claim's place in its lifecycle (DESIGN.md "Claim lifecycle").
    ClaimStatus {
        Submitted => "SUBMITTED",
        UnderReview => "UNDER_REVIEW",
        NeedsInfo => "NEEDS_INFO",
        AwaitingSecondApproval => "AWAITING_SECOND_APPROVAL",
        Approved => "APPROVED",
        Rejected => "REJECTED",
        Refunded => "REFUNDED",
        Withdrawn => "WITHDRAWN",
    }
);

stored_enum!(
    /// The outcome of the eligibility table.
    Eligibility {
        FullRefund => "FULL_REFUND",
        Discretionary => "DISCRETIONARY",
        NotEligible => "NOT_ELIGIBLE",
    }
);

stored_enum!(
    /// Why a claim was rejected.
    RejectionReason {
        NotEligible => "NOT_ELIGIBLE",
        OutsideRefundWindow => "OUTSIDE_REFUND_WINDOW",
        InsufficientEvidence => "INSUFFICIENT_EVIDENCE",
        DuplicateClaim => "DUPLICATE_CLAIM",
        SuspectedAbuse => "SUSPECTED_ABUSE",
        ChargebackOpened => "CHARGEBACK_OPENED",
        Other => "OTHER",
    }
);

stored_enum!(
    /// What a piece of evidence is.
    EvidenceKind {
        Screenshot => "SCREENSHOT",
        ErrorMessage => "ERROR_MESSAGE",
        Log => "LOG",
        Other => "OTHER",
    }
);

stored_enum!(
    /// What a chargeback without prior contact does to the subscription.
    ChargebackAction {
        None => "NONE",
        Suspend => "SUSPEND",
        Terminate => "TERMINATE",
    }
);

stored_enum!(
    /// A payout's place in its lifecycle.
    PayoutStatus {
        Pending => "PENDING",
        Sent => "SENT",
        Settled => "SETTLED",
        Failed => "FAILED",
        Cancelled => "CANCELLED",
    }
);

stored_enum!(
    /// A chargeback's state at the bank.
    ChargebackStatus {
        Open => "OPEN",
        Won => "WON",
        Lost => "LOST",
    }
);

/// Parses a stored enum column; a value that names no variant is an internal
/// error (the database holds something the code does not know).
pub fn parse_stored<T>(s: &str) -> Result<T, crate::error::AppError>
where
    T: std::str::FromStr<Err = UnknownValue>,
{
    s.parse::<T>().map_err(crate::error::AppError::internal)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_value_round_trips_through_its_stored_name() {
        for s in OrderStatus::ALL {
            assert_eq!(s.as_str().parse::<OrderStatus>(), Ok(*s));
        }
        for s in ActivationStatus::ALL {
            assert_eq!(s.as_str().parse::<ActivationStatus>(), Ok(*s));
        }
        assert!(
            "paid".parse::<OrderStatus>().is_err(),
            "stored names are exact"
        );
    }
}

stored_enum!(
    /// What happened: one per change of DESIGN.md's events table.
    EventType {
        OrderCreated => "ORDER_CREATED",
        OrderPaid => "ORDER_PAID",
        ActivationDelivered => "ACTIVATION_DELIVERED",
        ClaimSubmitted => "CLAIM_SUBMITTED",
        ClaimAssigned => "CLAIM_ASSIGNED",
        ClaimInfoRequested => "CLAIM_INFO_REQUESTED",
        ClaimEvidenceAdded => "CLAIM_EVIDENCE_ADDED",
        ClaimNoteAdded => "CLAIM_NOTE_ADDED",
        ClaimAwaitingSecondApproval => "CLAIM_AWAITING_SECOND_APPROVAL",
        ClaimApproved => "CLAIM_APPROVED",
        ClaimRejected => "CLAIM_REJECTED",
        ClaimWithdrawn => "CLAIM_WITHDRAWN",
        ClaimRefunded => "CLAIM_REFUNDED",
        PayoutCreated => "PAYOUT_CREATED",
        PayoutSent => "PAYOUT_SENT",
        PayoutSettled => "PAYOUT_SETTLED",
        PayoutFailed => "PAYOUT_FAILED",
        PayoutCancelled => "PAYOUT_CANCELLED",
        ChargebackOpened => "CHARGEBACK_OPENED",
        ChargebackResolved => "CHARGEBACK_RESOLVED",
        CustomerRestricted => "CUSTOMER_RESTRICTED",
        CustomerRestrictionLifted => "CUSTOMER_RESTRICTION_LIFTED",
        PolicyPublished => "POLICY_PUBLISHED",
    }
);

stored_enum!(
    /// Who sent an inbound message.
    IntegrationSource {
        Woocommerce => "WOOCOMMERCE",
        Stripe => "STRIPE",
    }
);

stored_enum!(
    /// What became of an inbound message.
    InboundStatus {
        Processed => "PROCESSED",
        Ignored => "IGNORED",
        NeedsAttention => "NEEDS_ATTENTION",
    }
);
