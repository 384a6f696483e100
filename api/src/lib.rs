//! Refund Desk: the GraphQL back office for refunds of digital subscriptions.

pub mod allocator;
pub mod auth;
pub mod cli;
pub mod config;
pub mod domain;
pub mod error;
pub mod foreground;
pub mod graphql;
pub mod http;
pub mod low_priority;
pub mod metrics;
pub mod secrets;
pub mod service;
pub mod startup;
pub mod telemetry;
