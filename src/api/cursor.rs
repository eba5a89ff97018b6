//! Opaque Relay cursors: `<kind>:<number>` in URL-safe base64, so clients do not build them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use crate::error::{Classified, Classify};

/// A bad `first` or `after` argument of a connection.
#[derive(Debug, thiserror::Error)]
pub(super) enum PageError {
    /// `after` is not a cursor of this connection.
    #[error("after: not a cursor of this connection")]
    Cursor,
    /// `first` is outside 0..=max.
    #[error("first: {got} is outside 0..{max}")]
    First {
        /// What was asked.
        got: i32,
        /// The largest page.
        max: usize,
    },
}

impl Classify for PageError {
    fn classify(&self) -> Classified {
        match self {
            PageError::Cursor => Classified::invalid("after"),
            PageError::First { .. } => Classified::limit("pageSize", "first"),
        }
    }
}

/// The page size asked with `first`: `default` when absent, at most `max`.
pub(super) fn page_size(
    first: Option<i32>,
    default: usize,
    max: usize,
) -> Result<usize, PageError> {
    match first {
        None => Ok(default),
        Some(got) => usize::try_from(got)
            .ok()
            .filter(|n| *n <= max)
            .ok_or(PageError::First { got, max }),
    }
}

/// The number inside an optional `after` cursor of `kind`.
pub(super) fn after(kind: &str, after: Option<&str>) -> Result<Option<u64>, PageError> {
    after
        .map(|a| decode(kind, a).ok_or(PageError::Cursor))
        .transpose()
}

/// The cursor of item `n` of a connection of `kind`.
pub(super) fn encode(kind: &str, n: u64) -> String {
    URL_SAFE_NO_PAD.encode(format!("{kind}:{n}"))
}

/// The number inside a cursor of `kind`, or `None` when it is not one.
pub(super) fn decode(kind: &str, cursor: &str) -> Option<u64> {
    let bytes = URL_SAFE_NO_PAD.decode(cursor).ok()?;
    let text = String::from_utf8(bytes).ok()?;
    text.strip_prefix(kind)?.strip_prefix(':')?.parse().ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_kinds_do_not_mix() {
        assert_eq!(decode("push", &encode("push", 7)), Some(7));
        assert_eq!(decode("account", &encode("push", 7)), None);
        assert_eq!(decode("push", "garbage!"), None);
    }

    #[test]
    fn page_sizes_and_after() {
        assert_eq!(page_size(None, 50, 500).unwrap(), 50);
        assert_eq!(page_size(Some(500), 50, 500).unwrap(), 500);
        assert!(matches!(
            page_size(Some(501), 50, 500),
            Err(PageError::First { got: 501, .. })
        ));
        assert!(page_size(Some(-1), 50, 500).is_err());
        assert_eq!(after("push", Some(&encode("push", 9))).unwrap(), Some(9));
        assert!(after("push", Some("nope")).is_err());
        assert_eq!(after("push", None).unwrap(), None);
    }
}
