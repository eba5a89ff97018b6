//! Every redb table of Herald, in one place, with the schema version they make up.
//!
//! Changing a key or value type, or the encoding of a record, is a new schema version.

use redb::TableDefinition;

/// The on-disk schema version this build reads and writes. A data dir with a newer one is refused.
pub(crate) const SCHEMA_VERSION: u64 = 1;

/// Small named counters and settings: `schema_version`, `next_uid`, `next_tag`.
pub(crate) const META: TableDefinition<&str, u64> = TableDefinition::new("meta");
/// Account records by dense uid (postcard-encoded [`super::AccountRecord`]).
pub(crate) const ACCOUNTS: TableDefinition<u32, &[u8]> = TableDefinition::new("accounts");
/// Account id (the caller's string) to uid.
pub(crate) const ACCOUNT_IDS: TableDefinition<&str, u32> = TableDefinition::new("account_ids");
/// The tag dictionary: tag number to tag text. Records store tag numbers.
pub(crate) const TAGS: TableDefinition<u32, &str> = TableDefinition::new("tags");
/// The app's attribute names by slot 0..=9.
pub(crate) const ATTR_NAMES: TableDefinition<u8, &str> = TableDefinition::new("attr_names");

/// Push records by sequence number (encoded by the push module).
pub(crate) const PUSHES: TableDefinition<u64, &[u8]> = TableDefinition::new("pushes");
/// The audience snapshot of each live push: a serialized roaring bitmap of uids.
pub(crate) const AUDIENCES: TableDefinition<u64, &[u8]> = TableDefinition::new("audiences");
/// Idempotency key -> push sequence number.
pub(crate) const PUSH_KEYS: TableDefinition<&str, u64> = TableDefinition::new("push_keys");

/// Pushes whose mobile notifications have not finished: written with the push when
/// transports are loaded, removed when notifying ends or the push retires. Herald resumes
/// what is left here when it starts, so a crash between accept and send loses none.
pub(crate) const NOTIFY_PENDING: TableDefinition<u64, ()> = TableDefinition::new("notify_pending");

/// Each account's acknowledged inbox cursor (a push sequence number).
pub(crate) const CURSORS: TableDefinition<u32, u64> = TableDefinition::new("cursors");

/// Devices by (account uid, device token) (postcard-encoded [`super::DeviceRecord`]).
pub(crate) const DEVICES: TableDefinition<(u32, &str), &[u8]> = TableDefinition::new("devices");
/// Device token -> the account uid that holds it (a token belongs to one account).
pub(crate) const DEVICE_OWNERS: TableDefinition<&str, u32> = TableDefinition::new("device_owners");

/// Keys of [`META`].
pub(crate) mod meta {
    /// The schema version the data dir was written with.
    pub(crate) const SCHEMA_VERSION: &str = "schema_version";
    /// The next account uid to hand out; uids are never reused.
    pub(crate) const NEXT_UID: &str = "next_uid";
    /// The next tag number to hand out.
    pub(crate) const NEXT_TAG: &str = "next_tag";
    /// The next push sequence number to hand out (starts at 1; 0 means "none yet").
    pub(crate) const NEXT_SEQ: &str = "next_seq";
}
