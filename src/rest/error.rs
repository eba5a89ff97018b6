//! Errors of the REST layer and the one table that maps each to the vendor's error code.
//!
//! | Cause | Code |
//! |---|---|
//! | query string unreadable, or `sdkappid` not a number | 60002 |
//! | `identifier` or `usersig` missing | 60004 |
//! | `sdkappid` missing | 60012 |
//! | `sdkappid` is not this app's id | 70020 |
//! | UserSig unreadable | 70003 |
//! | UserSig not signed with the app secret | 70009 |
//! | UserSig expired | 70001 |
//! | UserSig issued to another identifier / another app than the query names | 70013 / 70014 |
//! | `identifier` is not the admin: push endpoints / account endpoints | 90009 / 70403 |
//! | body not JSON, a field missing or of the wrong type (push endpoints) | 90001 |
//! | `MsgBody` missing, empty or invalid; element malformed | 90002 |
//! | `MsgBody` not an array | 90007 |
//! | `OfflinePushInfo` malformed or a string of it too long | 90010 |
//! | `MsgRandom` missing or not a 32-bit unsigned integer | 90005 |
//! | more than 100 accounts in a call | 90018 |
//! | a tag longer than 50 bytes | 90020 |
//! | the same tag in `TagsAnd` and `TagsOr` | 90022 |
//! | pushes closer than the configured interval | 90024 |
//! | `MsgLifeTime` outside 0..604800 | 90026 |
//! | more than 10 tags in a condition or for one user in `im_add_tag`; a user over 100 tags | 90032 |
//! | attribute name unknown, empty or too long, slot outside 0..9, name taken, value empty or too long | 90033 |
//! | tag and attribute conditions together | 90039 |
//! | an empty tag | 90040 |
//! | the configured daily quota is used up | 90047 |
//! | an account (`To_Account`, `From_Account`) that was never imported | 70107 |
//! | account endpoints: bad JSON, a bad `UserID`, more than 100 accounts | 70402 |
//! | account endpoints: `Nick` too long | 40601 |
//! | a fault of the server | 91000 |

use crate::audience;
use crate::directory::DirectoryError;
use crate::push::PushError;
use crate::push::body::{BodyError, VendorBodyError};

use super::usersig::UserSigError;

/// The vendor's limit of accounts in one REST call.
pub(super) const MAX_ACCOUNTS: usize = 100;
/// The vendor's limit of tags in one condition list, and per user in one `im_add_tag`.
pub(super) const MAX_TAGS: usize = 10;

/// Which vendor service an endpoint belongs to: a few codes differ between them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Service {
    /// `v4/all_member_push/*`.
    AllMemberPush,
    /// `v4/im_open_login_svc/*`.
    Login,
}

/// Why a REST call failed. Every one answers HTTP 200 with `ActionStatus: "FAIL"`,
/// [`RestError::vendor_code`] as `ErrorCode` and the message as `ErrorInfo`.
#[derive(Debug, thiserror::Error)]
pub enum RestError {
    /// The query string cannot be read, or a parameter in it is malformed.
    #[error("{0}")]
    Query(String),
    /// A credential parameter (`identifier`, `usersig`) is missing.
    #[error("the query parameter {0} is required")]
    MissingCredential(&'static str),
    /// `sdkappid` is missing.
    #[error("the query parameter sdkappid is required")]
    MissingAppId,
    /// `sdkappid` is not this app's id.
    #[error("sdkappid {given} is not this server's app ({ours})")]
    WrongApp {
        /// The id given.
        given: u64,
        /// The configured app id.
        ours: u64,
    },
    /// The UserSig was refused.
    #[error(transparent)]
    UserSig(#[from] UserSigError),
    /// The UserSig was issued to another identifier than the query's.
    #[error("the UserSig was issued to {signed:?}, not to identifier {given:?}")]
    UserSigIdentifier {
        /// The identifier in the UserSig.
        signed: String,
        /// The query's identifier.
        given: String,
    },
    /// The UserSig was issued for another app.
    #[error("the UserSig was issued for sdkappid {signed}, not {given}")]
    UserSigApp {
        /// The app id in the UserSig.
        signed: u64,
        /// The query's app id.
        given: u64,
    },
    /// The caller is not the app admin.
    #[error("{identifier:?} is not the app admin; this request needs App admin permission")]
    NotAdmin {
        /// The service called.
        service: Service,
        /// The identifier given.
        identifier: String,
    },
    /// The body is not JSON, or a field is missing or of the wrong type.
    #[error("{0}")]
    Json(String),
    /// A `MsgBody` or `OfflinePushInfo` that does not follow the message format.
    #[error(transparent)]
    VendorBody(#[from] VendorBodyError),
    /// `MsgBody` is missing, or its content is invalid.
    #[error("MsgBody: {0}")]
    Body(String),
    /// A string of `OfflinePushInfo` is too long.
    #[error("OfflinePushInfo: {0}")]
    OfflinePush(String),
    /// `MsgRandom` is missing or not a 32-bit unsigned integer.
    #[error("MsgRandom must be an integer in 0..4294967295: {0}")]
    MsgRandom(String),
    /// `MsgLifeTime` is not a number of seconds in 0..604800.
    #[error("MsgLifeTime must be 0..604800 seconds (7 days): {0}")]
    Lifetime(String),
    /// More accounts than one call takes.
    #[error("{field} has {len} accounts; a call takes at most {MAX_ACCOUNTS}")]
    TooManyAccounts {
        /// The field.
        field: String,
        /// How many were given.
        len: usize,
    },
    /// A tag is longer than the limit.
    #[error("{0}")]
    TagTooLong(String),
    /// The same tag is in `TagsAnd` and `TagsOr`.
    #[error("the tag {0:?} is in both TagsAnd and TagsOr")]
    SameTag(String),
    /// A push came sooner than the configured interval allows.
    #[error("{0}")]
    TooFrequent(String),
    /// Too many tags in a condition or an add, or a user would hold too many.
    #[error("{0}")]
    TooManyTags(String),
    /// An attribute name or value is invalid.
    #[error("{0}")]
    InvalidAttribute(String),
    /// Tag and attribute conditions together.
    #[error(
        "tag conditions (TagsAnd, TagsOr) and attribute conditions (AttrsAnd, AttrsOr) cannot be combined"
    )]
    TagsWithAttributes,
    /// An empty tag.
    #[error("{0}")]
    EmptyTag(String),
    /// The daily push quota is used up.
    #[error("{0}")]
    DailyQuota(String),
    /// An account that was never imported (nor logged in).
    #[error("{field}: account {account:?} has not been imported (use account_import)")]
    AccountNotFound {
        /// The field.
        field: String,
        /// The account id.
        account: String,
    },
    /// A bad parameter of an account endpoint.
    #[error("{0}")]
    InvalidParameter(String),
    /// A `Nick` longer than the limit.
    #[error("{0}")]
    ProfileTooLong(String),
    /// A fault of the server, never of the caller.
    #[error("internal error: {0}")]
    Internal(String),
}

impl RestError {
    /// The vendor's `ErrorCode` for this error (the table in this module's doc).
    pub fn vendor_code(&self) -> u32 {
        match self {
            RestError::Query(_) => 60002,
            RestError::MissingCredential(_) => 60004,
            RestError::MissingAppId => 60012,
            RestError::WrongApp { .. } => 70020,
            RestError::UserSig(UserSigError::Malformed(_)) => 70003,
            RestError::UserSig(UserSigError::Forged) => 70009,
            RestError::UserSig(UserSigError::Expired { .. }) => 70001,
            RestError::UserSigIdentifier { .. } => 70013,
            RestError::UserSigApp { .. } => 70014,
            RestError::NotAdmin {
                service: Service::AllMemberPush,
                ..
            } => 90009,
            RestError::NotAdmin {
                service: Service::Login,
                ..
            } => 70403,
            RestError::Json(_) => 90001,
            RestError::VendorBody(e) => e.vendor_code(),
            RestError::Body(_) => 90002,
            RestError::OfflinePush(_) => 90010,
            RestError::MsgRandom(_) => 90005,
            RestError::Lifetime(_) => 90026,
            RestError::TooManyAccounts { .. } => 90018,
            RestError::TagTooLong(_) => 90020,
            RestError::SameTag(_) => 90022,
            RestError::TooFrequent(_) => 90024,
            RestError::TooManyTags(_) => 90032,
            RestError::InvalidAttribute(_) => 90033,
            RestError::TagsWithAttributes => 90039,
            RestError::EmptyTag(_) => 90040,
            RestError::DailyQuota(_) => 90047,
            RestError::AccountNotFound { .. } => 70107,
            RestError::InvalidParameter(_) => 70402,
            RestError::ProfileTooLong(_) => 40601,
            RestError::Internal(_) => 91000,
        }
    }

    /// True for a fault of the server (logged as such).
    pub(super) fn is_internal(&self) -> bool {
        matches!(self, RestError::Internal(_))
    }

    /// Checks the vendor's limit of accounts in one call.
    pub(super) fn check_accounts(field: &str, len: usize) -> Result<(), RestError> {
        if len > MAX_ACCOUNTS {
            return Err(RestError::TooManyAccounts {
                field: field.to_owned(),
                len,
            });
        }
        Ok(())
    }

    /// A directory error of a tag call.
    pub(super) fn from_tags(e: DirectoryError) -> RestError {
        match e {
            DirectoryError::Empty { .. } => RestError::EmptyTag(e.to_string()),
            DirectoryError::TooLong { .. } => RestError::TagTooLong(e.to_string()),
            DirectoryError::TooManyTags { .. } => RestError::TooManyTags(e.to_string()),
            other => RestError::from_directory(other),
        }
    }

    /// A directory error of an attribute call.
    pub(super) fn from_attrs(e: DirectoryError) -> RestError {
        match e {
            DirectoryError::Empty { .. }
            | DirectoryError::TooLong { .. }
            | DirectoryError::UnknownAttribute { .. }
            | DirectoryError::BadSlot { .. }
            | DirectoryError::DuplicateAttributeName { .. }
            | DirectoryError::AttributeNameTaken { .. } => {
                RestError::InvalidAttribute(e.to_string())
            }
            other => RestError::from_directory(other),
        }
    }

    /// A directory error of an account import.
    pub(super) fn from_import(e: DirectoryError) -> RestError {
        match e {
            DirectoryError::TooLong {
                limit: "nickBytes", ..
            } => RestError::ProfileTooLong(e.to_string()),
            DirectoryError::Empty { .. }
            | DirectoryError::TooLong { .. }
            | DirectoryError::Reserved { .. }
            | DirectoryError::BatchTooLarge { .. } => RestError::InvalidParameter(e.to_string()),
            other => RestError::from_directory(other),
        }
    }

    /// What any directory call's error means on this surface, whatever the call.
    fn from_directory(e: DirectoryError) -> RestError {
        match e {
            DirectoryError::AccountNotFound { field, account } => {
                RestError::AccountNotFound { field, account }
            }
            DirectoryError::BatchTooLarge { field, len, .. } => {
                RestError::TooManyAccounts { field, len }
            }
            DirectoryError::TooManyTags { .. } => RestError::TooManyTags(e.to_string()),
            DirectoryError::Store(e) => RestError::Internal(e.to_string()),
            // Any other input the directory refuses is a bad request on this surface.
            other => RestError::Json(other.to_string()),
        }
    }
}

impl From<PushError> for RestError {
    fn from(e: PushError) -> RestError {
        match e {
            PushError::Target(e) => match &e {
                audience::Error::Limit {
                    limit: "tagBytes", ..
                } => RestError::TagTooLong(e.to_string()),
                audience::Error::Invalid { field, .. } if field.contains("tags") => {
                    RestError::EmptyTag(e.to_string())
                }
                _ => RestError::InvalidAttribute(e.to_string()),
            },
            PushError::Body(e) => match &e {
                BodyError::TooLong { field, .. } if field.starts_with("offlinePush") => {
                    RestError::OfflinePush(e.to_string())
                }
                _ => RestError::Body(e.to_string()),
            },
            PushError::Lifetime(n) => RestError::Lifetime(n.to_string()),
            PushError::IdempotencyKey(_) => RestError::MsgRandom(e.to_string()),
            PushError::UnknownSender(account) => RestError::AccountNotFound {
                field: "From_Account".into(),
                account,
            },
            PushError::TooFrequent { .. } => RestError::TooFrequent(e.to_string()),
            PushError::DailyQuota(_) => RestError::DailyQuota(e.to_string()),
            PushError::Directory(e) => RestError::from_directory(e),
            PushError::NotFound(_) | PushError::Store(_) | PushError::CorruptAudience(_) => {
                RestError::Internal(e.to_string())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_rules_map_to_their_own_codes() {
        let e = RestError::from(PushError::TooFrequent {
            interval: 1,
            retry_after: 1,
        });
        assert_eq!(e.vendor_code(), 90024);
        assert_eq!(
            RestError::from(PushError::DailyQuota(100)).vendor_code(),
            90047
        );
    }

    #[test]
    fn faults_of_the_server_are_91000() {
        let corrupt = || crate::store::StoreError::Corrupt("x".into());
        let e = RestError::from(PushError::Store(corrupt()));
        assert!(e.is_internal());
        assert_eq!(e.vendor_code(), 91000);
        let e = RestError::from_tags(DirectoryError::Store(corrupt()));
        assert_eq!(e.vendor_code(), 91000);
        assert_eq!(
            RestError::from(PushError::CorruptAudience(1)).vendor_code(),
            91000
        );
    }

    #[test]
    fn not_admin_differs_by_service() {
        let not_admin = |service| RestError::NotAdmin {
            service,
            identifier: "bob".into(),
        };
        assert_eq!(not_admin(Service::AllMemberPush).vendor_code(), 90009);
        assert_eq!(not_admin(Service::Login).vendor_code(), 70403);
    }

    #[test]
    fn directory_errors_map_by_call() {
        let long = || DirectoryError::TooLong {
            field: "f".into(),
            limit: "nickBytes",
            len: 501,
            max: 500,
        };
        assert_eq!(RestError::from_import(long()).vendor_code(), 40601);
        assert_eq!(RestError::from_attrs(long()).vendor_code(), 90033);
        assert_eq!(RestError::from_tags(long()).vendor_code(), 90020);
        let missing = DirectoryError::AccountNotFound {
            field: "f".into(),
            account: "ghost".into(),
        };
        assert_eq!(RestError::from_tags(missing).vendor_code(), 70107);
    }
}
