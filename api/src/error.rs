//! One error type for the whole API. Every variant maps to a stable
//! `extensions.code` of the public contract; internal causes are logged and
//! never shown to clients.

use async_graphql::ErrorExtensions;

/// Stable error codes of the public contract (`errors[].extensions.code`).
pub mod code {
    pub const UNAUTHENTICATED: &str = "UNAUTHENTICATED";
    pub const FORBIDDEN: &str = "FORBIDDEN";
    pub const NOT_FOUND: &str = "NOT_FOUND";
    pub const BAD_USER_INPUT: &str = "BAD_USER_INPUT";
    pub const INVALID_TRANSITION: &str = "INVALID_TRANSITION";
    pub const CONFLICT: &str = "CONFLICT";
    pub const POLICY_VIOLATION: &str = "POLICY_VIOLATION";
    pub const REFUND_LIMIT_EXCEEDED: &str = "REFUND_LIMIT_EXCEEDED";
    pub const CUSTOMER_RESTRICTED: &str = "CUSTOMER_RESTRICTED";
    pub const QUERY_TOO_COMPLEX: &str = "QUERY_TOO_COMPLEX";
    pub const RATE_LIMITED: &str = "RATE_LIMITED";
    pub const INTERNAL_SERVER_ERROR: &str = "INTERNAL_SERVER_ERROR";
}

/// Every failure the API can report.
///
/// Deliberately not `Display`: async-graphql converts any `Display` type into
/// an error without extensions, and we want `?` to always carry the code.
#[derive(Debug)]
pub enum AppError {
    Unauthenticated,
    Forbidden,
    NotFound(&'static str),
    BadUserInput(String),
    InvalidTransition(String),
    Conflict(String),
    PolicyViolation {
        rule: &'static str,
        message: String,
    },
    RefundLimitExceeded(String),
    CustomerRestricted,
    RateLimited,
    /// A document over the limits of `graphql::limits`.
    QueryTooComplex(String),
    Internal(Box<dyn std::error::Error + Send + Sync>),
}

pub type AppResult<T> = Result<T, AppError>;

impl AppError {
    pub fn bad_input(message: impl Into<String>) -> Self {
        AppError::BadUserInput(message.into())
    }

    pub fn internal(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        AppError::Internal(cause.into())
    }

    /// The client-facing message (internal causes stay in the logs).
    pub fn message(&self) -> String {
        match self {
            AppError::Unauthenticated => "authentication required".into(),
            AppError::Forbidden => "you are not allowed to do this".into(),
            AppError::NotFound(what) => format!("{what} not found"),
            AppError::BadUserInput(m)
            | AppError::InvalidTransition(m)
            | AppError::Conflict(m)
            | AppError::RefundLimitExceeded(m)
            | AppError::QueryTooComplex(m)
            | AppError::PolicyViolation { message: m, .. } => m.clone(),
            AppError::CustomerRestricted => "the customer is restricted from new orders".into(),
            AppError::RateLimited => "too many attempts; try again later".into(),
            AppError::Internal(_) => "internal error".into(),
        }
    }

    /// The message, plus the cause chain of an internal error: for logs and
    /// the CLI, never for GraphQL clients.
    pub fn describe(&self) -> String {
        match self {
            AppError::Internal(cause) => format!("internal error: {}", error_chain(cause.as_ref())),
            other => other.message(),
        }
    }

    pub fn code(&self) -> &'static str {
        match self {
            AppError::Unauthenticated => code::UNAUTHENTICATED,
            AppError::Forbidden => code::FORBIDDEN,
            AppError::NotFound(_) => code::NOT_FOUND,
            AppError::BadUserInput(_) => code::BAD_USER_INPUT,
            AppError::InvalidTransition(_) => code::INVALID_TRANSITION,
            AppError::Conflict(_) => code::CONFLICT,
            AppError::PolicyViolation { .. } => code::POLICY_VIOLATION,
            AppError::RefundLimitExceeded(_) => code::REFUND_LIMIT_EXCEEDED,
            AppError::CustomerRestricted => code::CUSTOMER_RESTRICTED,
            AppError::RateLimited => code::RATE_LIMITED,
            AppError::QueryTooComplex(_) => code::QUERY_TOO_COMPLEX,
            AppError::Internal(_) => code::INTERNAL_SERVER_ERROR,
        }
    }
}

impl From<sea_orm::DbErr> for AppError {
    fn from(err: sea_orm::DbErr) -> Self {
        AppError::Internal(Box::new(err))
    }
}

/// Writes the whole `source()` chain, so a log line shows the real cause.
pub fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut out = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        out.push_str(": ");
        out.push_str(&cause.to_string());
        source = cause.source();
    }
    out
}

impl ErrorExtensions for AppError {
    fn extend(&self) -> async_graphql::Error {
        if let AppError::Internal(cause) = self {
            // Logged inside the request span, so the line carries the request id;
            // the client message is replaced by a generic one in the HTTP layer.
            tracing::error!(cause = %error_chain(cause.as_ref()), "internal error");
        }
        let code = self.code();
        let rule = match self {
            AppError::PolicyViolation { rule, .. } => Some(*rule),
            _ => None,
        };
        async_graphql::Error::new(self.message()).extend_with(|_, ext| {
            ext.set("code", code);
            if let Some(rule) = rule {
                ext.set("rule", rule);
            }
        })
    }
}

impl From<AppError> for async_graphql::Error {
    fn from(err: AppError) -> Self {
        err.extend()
    }
}

impl From<argon2::password_hash::Error> for AppError {
    fn from(err: argon2::password_hash::Error) -> Self {
        AppError::Internal(err.to_string().into())
    }
}
