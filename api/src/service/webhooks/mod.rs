//! Outbound webhooks in the Standard Webhooks format (DESIGN.md): endpoints,
//! their signing secrets, the deliveries queued for each event, and the
//! dispatcher that sends them.

pub mod address;
pub mod deliveries;
pub mod dispatch;
pub mod endpoints;
pub mod handoff;
pub mod signing;
