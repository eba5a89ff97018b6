//! Input checks shared by the directory's calls: they run before any transaction opens.

use super::DirectoryError;
use crate::config::Limits;

/// A batch names at most `limits.batch_accounts` accounts.
pub(super) fn batch(field: &str, len: usize, limits: &Limits) -> Result<(), DirectoryError> {
    if len > limits.batch_accounts {
        return Err(DirectoryError::BatchTooLarge {
            field: field.to_owned(),
            len,
            max: limits.batch_accounts,
        });
    }
    Ok(())
}

/// A non-empty string of at most `max` bytes; `limit` names the limit for callers.
pub(super) fn text(
    field: impl FnOnce() -> String,
    value: &str,
    limit: &'static str,
    max: usize,
) -> Result<(), DirectoryError> {
    if value.is_empty() {
        return Err(DirectoryError::Empty { field: field() });
    }
    if value.len() > max {
        return Err(DirectoryError::TooLong {
            field: field(),
            limit,
            len: value.len(),
            max,
        });
    }
    Ok(())
}

/// An account id: 1..=`account_id_bytes` bytes of UTF-8.
pub(super) fn account_id(
    field: impl FnOnce() -> String,
    id: &str,
    limits: &Limits,
) -> Result<(), DirectoryError> {
    text(field, id, "accountIdBytes", limits.account_id_bytes)
}

/// A tag: 1..=`tag_bytes` bytes.
pub(super) fn tag(
    field: impl FnOnce() -> String,
    tag: &str,
    limits: &Limits,
) -> Result<(), DirectoryError> {
    text(field, tag, "tagBytes", limits.tag_bytes)
}

/// A slot number in 0..=9.
pub(super) fn slot(field: impl FnOnce() -> String, slot: i64) -> Result<u8, DirectoryError> {
    u8::try_from(slot)
        .ok()
        .filter(|s| (*s as usize) < super::SLOTS)
        .ok_or_else(|| DirectoryError::BadSlot {
            field: field(),
            slot,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::{Classify, Code};

    #[test]
    fn a_51_byte_tag_names_field_and_limit() {
        let err = tag(
            || "input[0].tags[3]".into(),
            &"x".repeat(51),
            &Limits::default(),
        )
        .unwrap_err();
        let c = err.classify();
        assert_eq!(c.code, Code::LimitExceeded);
        assert_eq!(c.limit.as_deref(), Some("tagBytes"));
        assert_eq!(c.field.as_deref(), Some("input[0].tags[3]"));
        assert_eq!(
            err.to_string(),
            "input[0].tags[3] is 51 bytes; the limit is 50 bytes"
        );
    }

    #[test]
    fn tag_of_50_bytes_and_multibyte_are_measured_in_bytes() {
        assert!(tag(|| "t".into(), &"x".repeat(50), &Limits::default()).is_ok());
        // 17 three-byte characters = 51 bytes.
        assert!(tag(|| "t".into(), &"深".repeat(17), &Limits::default()).is_err());
    }

    #[test]
    fn empty_and_slot_checks() {
        assert_eq!(
            tag(|| "t".into(), "", &Limits::default())
                .unwrap_err()
                .classify()
                .code,
            Code::InvalidArgument
        );
        assert_eq!(slot(|| "s".into(), 9).unwrap(), 9);
        assert!(slot(|| "s".into(), 10).is_err());
        assert!(slot(|| "s".into(), -1).is_err());
    }
}
