//! The records Herald persists, and their encoding (postcard: compact and fast).

use serde::{Deserialize, Serialize};

use super::StoreError;

/// One account as stored: its caller-visible id, nick, tags (as tag numbers) and attributes.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct AccountRecord {
    /// The caller's account id (1..32 bytes of UTF-8).
    pub id: String,
    /// Optional display name.
    pub nick: Option<String>,
    /// Unix seconds when the account was first imported or logged in.
    pub created_at: u64,
    /// Tag numbers (see the tag dictionary), sorted and without duplicates.
    pub tags: Vec<u32>,
    /// Attribute values by slot, sorted by slot, at most one per slot.
    pub attrs: Vec<(u8, String)>,
}

/// A device registered for push notifications.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DeviceRecord {
    /// The platform (`ios`, `android`, ...): which transport serves it.
    pub platform: String,
    /// A transport chosen by name instead of the platform's default.
    pub transport: Option<String>,
    /// Unix seconds of (the last) registration.
    pub registered_at: u64,
}

/// A borrowed view of an encoded [`AccountRecord`], decoded without copying its strings
/// (rebuilding the indexes at start reads every record once).
#[derive(Debug, Deserialize)]
pub struct AccountView<'a> {
    /// The caller's account id.
    pub id: &'a str,
    /// Optional display name.
    pub nick: Option<&'a str>,
    /// Unix seconds of creation.
    pub created_at: u64,
    /// Tag numbers, sorted.
    pub tags: Vec<u32>,
    /// Attribute values by slot.
    #[serde(borrow)]
    pub attrs: Vec<(u8, &'a str)>,
}

pub(crate) fn encode<T: Serialize>(value: &T) -> Result<Vec<u8>, StoreError> {
    postcard::to_allocvec(value).map_err(|e| StoreError::Corrupt(e.to_string()))
}

pub(crate) fn decode<'a, T: Deserialize<'a>>(bytes: &'a [u8]) -> Result<T, StoreError> {
    postcard::from_bytes(bytes).map_err(|e| StoreError::Corrupt(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn account_record_round_trips() {
        let rec = AccountRecord {
            id: "alice".into(),
            nick: Some("Alice".into()),
            created_at: 1_700_000_000,
            tags: vec![1, 7, 300_000],
            attrs: vec![(0, "Shenzhen".into()), (9, "gold".into())],
        };
        let bytes = encode(&rec).unwrap();
        assert_eq!(decode::<AccountRecord>(&bytes).unwrap(), rec);
        let view: AccountView<'_> = decode(&bytes).unwrap();
        assert_eq!((view.id, view.nick), ("alice", Some("Alice")));
        assert_eq!(view.tags, rec.tags);
        assert_eq!(view.attrs, vec![(0, "Shenzhen"), (9, "gold")]);
    }

    #[test]
    fn garbage_is_a_corrupt_error_not_a_panic() {
        assert!(matches!(
            decode::<AccountRecord>(&[0xff, 0xff, 0xff]),
            Err(StoreError::Corrupt(_))
        ));
    }
}
