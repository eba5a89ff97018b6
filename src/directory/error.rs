//! Errors of the directory, each naming the input field at fault.

use crate::error::{Classified, Classify, Code};
use crate::store::StoreError;

/// What can go wrong in a directory call. Every variant but `Store` is the caller's input.
#[derive(Debug, thiserror::Error)]
pub enum DirectoryError {
    /// A required string is empty.
    #[error("{field} must not be empty")]
    Empty {
        /// The input field.
        field: String,
    },
    /// A string is longer than its limit.
    #[error("{field} is {len} bytes; the limit is {max} bytes")]
    TooLong {
        /// The input field.
        field: String,
        /// The limit's name (`extensions.limit`).
        limit: &'static str,
        /// Its length.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// A batch names more accounts than allowed.
    #[error("{field} has {len} entries; a batch takes at most {max}")]
    BatchTooLarge {
        /// The input field.
        field: String,
        /// How many were given.
        len: usize,
        /// The limit.
        max: usize,
    },
    /// An account would hold more tags than allowed.
    #[error("{field}: account {account:?} would hold {count} tags; the limit is {max}")]
    TooManyTags {
        /// The input field.
        field: String,
        /// The account.
        account: String,
        /// Tags it would hold.
        count: usize,
        /// The limit.
        max: usize,
    },
    /// A named account does not exist.
    #[error("{field}: account {account:?} does not exist")]
    AccountNotFound {
        /// The input field.
        field: String,
        /// The account id.
        account: String,
    },
    /// An attribute name is not one of the app's attribute names.
    #[error("{field}: {name:?} is not one of the app's attribute names")]
    UnknownAttribute {
        /// The input field.
        field: String,
        /// The name.
        name: String,
    },
    /// A slot number outside 0..=9.
    #[error("{field}: slot {slot} is outside 0..9")]
    BadSlot {
        /// The input field.
        field: String,
        /// The slot given.
        slot: i64,
    },
    /// The same attribute name is given to two slots in one request.
    #[error("{field}: attribute name {name:?} is given to two slots")]
    DuplicateAttributeName {
        /// The input field.
        field: String,
        /// The name.
        name: String,
    },
    /// An attribute name is already held by another slot.
    #[error("{field}: attribute name {name:?} is already the name of slot {slot}")]
    AttributeNameTaken {
        /// The input field.
        field: String,
        /// The name.
        name: String,
        /// The slot that holds it.
        slot: u8,
    },
    /// An account id is reserved (the admin identity).
    #[error("{field}: {id:?} is the admin identity and cannot be an account")]
    Reserved {
        /// The input field.
        field: String,
        /// The id.
        id: String,
    },
    /// A platform or transport name has characters outside `a-z0-9_-`.
    #[error("{field}: {value:?} must be lower-case letters, digits, '_' or '-'")]
    BadName {
        /// The input field.
        field: String,
        /// The value.
        value: String,
    },
    /// An account would hold more devices than allowed.
    #[error("input.token: account {account:?} already has {max} devices")]
    TooManyDevices {
        /// The account.
        account: String,
        /// The limit.
        max: usize,
    },
    /// The account has no device with this token.
    #[error("input.token: account {account:?} has no device with this token")]
    DeviceNotFound {
        /// The account.
        account: String,
    },
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl Classify for DirectoryError {
    fn classify(&self) -> Classified {
        use DirectoryError::*;
        match self {
            Empty { field }
            | UnknownAttribute { field, .. }
            | BadSlot { field, .. }
            | DuplicateAttributeName { field, .. }
            | Reserved { field, .. }
            | BadName { field, .. } => Classified::invalid(field.clone()),
            TooManyDevices { .. } => Classified::limit("devicesPerAccount", "input.token"),
            DeviceNotFound { .. } => Classified {
                field: Some("input.token".into()),
                ..Classified::new(Code::NotFound)
            },
            TooLong { field, limit, .. } => Classified::limit(*limit, field.clone()),
            BatchTooLarge { field, .. } => Classified::limit("batchAccounts", field.clone()),
            TooManyTags { field, .. } => Classified::limit("tagsPerAccount", field.clone()),
            AccountNotFound { field, .. } => Classified {
                field: Some(field.clone()),
                ..Classified::new(Code::NotFound)
            },
            AttributeNameTaken { field, .. } => Classified {
                field: Some(field.clone()),
                ..Classified::new(Code::Conflict)
            },
            Store(e) => e.classify(),
        }
    }
}
