//! Errors of the push module.

use crate::audience;
use crate::directory::DirectoryError;
use crate::error::{Classified, Classify, Code};
use crate::store::StoreError;

use super::body::BodyError;

/// Why a push, or a read or cancel of one, was refused.
#[derive(Debug, thiserror::Error)]
pub enum PushError {
    /// The target is invalid.
    #[error(transparent)]
    Target(#[from] audience::Error),
    /// The body or offline push options are invalid.
    #[error(transparent)]
    Body(#[from] BodyError),
    /// `lifetimeSeconds` is outside 0..604800.
    #[error("lifetimeSeconds: {0} is outside 0..604800 (7 days)")]
    Lifetime(i64),
    /// The idempotency key is empty or too long.
    #[error("idempotencyKey: must be 1..64 bytes, got {0}")]
    IdempotencyKey(usize),
    /// The sender is not an account.
    #[error("sender: account {0:?} does not exist")]
    UnknownSender(String),
    /// A minimum interval between pushes is configured and was not respected.
    #[error("pushes are limited to one every {interval} s; retry in {retry_after} s")]
    TooFrequent {
        /// The configured interval.
        interval: u64,
        /// Seconds until a push is allowed.
        retry_after: u64,
    },
    /// The daily quota is used up.
    #[error("the daily quota of {0} pushes is used up; it resets at 00:00 UTC")]
    DailyQuota(u64),
    /// No push has this id.
    #[error("push {0:?} does not exist")]
    NotFound(String),
    /// The directory failed.
    #[error(transparent)]
    Directory(#[from] DirectoryError),
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A stored audience snapshot could not be read.
    #[error("corrupt audience snapshot of push {0}")]
    CorruptAudience(u64),
}

impl Classify for PushError {
    fn classify(&self) -> Classified {
        match self {
            PushError::Target(e) => e.classify(),
            PushError::Body(e) => e.classify(),
            PushError::Lifetime(n) if *n > 0 => {
                Classified::limit("lifetimeSeconds", "lifetimeSeconds")
            }
            PushError::Lifetime(_) => Classified::invalid("lifetimeSeconds"),
            PushError::IdempotencyKey(len) if *len > 0 => {
                Classified::limit("idempotencyKeyBytes", "idempotencyKey")
            }
            PushError::IdempotencyKey(_) => Classified::invalid("idempotencyKey"),
            PushError::UnknownSender(_) => Classified {
                field: Some("sender".into()),
                ..Classified::new(Code::NotFound)
            },
            PushError::TooFrequent { .. } => Classified {
                limit: Some("minIntervalSeconds".into()),
                ..Classified::new(Code::RateLimited)
            },
            PushError::DailyQuota(_) => Classified {
                limit: Some("dailyQuota".into()),
                ..Classified::new(Code::RateLimited)
            },
            PushError::NotFound(_) => Classified {
                field: Some("id".into()),
                ..Classified::new(Code::NotFound)
            },
            PushError::Directory(e) => e.classify(),
            PushError::Store(e) => e.classify(),
            PushError::CorruptAudience(_) => Classified::new(Code::Internal),
        }
    }
}
