//! Opaque Relay cursors: `<kind>:<number>` in URL-safe base64, so clients do not build them.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

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
}
