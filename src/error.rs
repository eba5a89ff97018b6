//! The stable error codes of the public API and the trait every module error implements
//! to say which code it maps to, so the API layer needs one mapping table, not one per module.

use std::fmt;

/// A stable error code, sent as `extensions.code` on every GraphQL error (API.md, Errors).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Code {
    /// No token, or an expired or forged one.
    Unauthenticated,
    /// A valid token without the right to do this.
    Forbidden,
    /// Bad input; `extensions.field` names the field.
    InvalidArgument,
    /// A limit was crossed; `extensions.limit` names it.
    LimitExceeded,
    /// A named thing does not exist.
    NotFound,
    /// The request conflicts with the current state.
    Conflict,
    /// Too many requests for the configured rate rules.
    RateLimited,
    /// A fault of the server, never of the caller.
    Internal,
}

impl Code {
    /// The wire spelling of the code.
    pub fn as_str(self) -> &'static str {
        match self {
            Code::Unauthenticated => "UNAUTHENTICATED",
            Code::Forbidden => "FORBIDDEN",
            Code::InvalidArgument => "INVALID_ARGUMENT",
            Code::LimitExceeded => "LIMIT_EXCEEDED",
            Code::NotFound => "NOT_FOUND",
            Code::Conflict => "CONFLICT",
            Code::RateLimited => "RATE_LIMITED",
            Code::Internal => "INTERNAL",
        }
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// How an error presents itself to an API caller: its code and, where it applies,
/// the input field at fault and the name of the limit that was crossed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Classified {
    /// The stable code.
    pub code: Code,
    /// The input field at fault (`INVALID_ARGUMENT`, also set for `LIMIT_EXCEEDED` when known).
    pub field: Option<String>,
    /// The limit that was crossed (`LIMIT_EXCEEDED`).
    pub limit: Option<String>,
}

impl Classified {
    /// An error with only a code.
    pub fn new(code: Code) -> Self {
        Classified {
            code,
            field: None,
            limit: None,
        }
    }

    /// An `INVALID_ARGUMENT` naming `field`.
    pub fn invalid(field: impl Into<String>) -> Self {
        Classified {
            code: Code::InvalidArgument,
            field: Some(field.into()),
            limit: None,
        }
    }

    /// A `LIMIT_EXCEEDED` naming the `limit` and the `field` that crossed it.
    pub fn limit(limit: impl Into<String>, field: impl Into<String>) -> Self {
        Classified {
            code: Code::LimitExceeded,
            field: Some(field.into()),
            limit: Some(limit.into()),
        }
    }
}

/// Implemented by every module's error enum: the one place that decides its public code.
pub trait Classify: std::error::Error {
    /// The code, field and limit this error shows to an API caller.
    fn classify(&self) -> Classified;
}
