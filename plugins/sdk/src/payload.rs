//! The payload bytes `render` returns and `send-batch` gets back: a plugin's own rendered
//! value, as JSON.

use serde::Serialize;
use serde::de::DeserializeOwned;

/// Serializes what `render` made into the payload Herald hands to `send-batch`.
pub fn encode<T: Serialize>(rendered: &T) -> Result<Vec<u8>, String> {
    serde_json::to_vec(rendered).map_err(|e| format!("cannot serialize the payload: {e}"))
}

/// Reads a payload made by [`encode`]; the error names the `transport` it expected.
pub fn decode<T: DeserializeOwned>(payload: &[u8], transport: &str) -> Result<T, String> {
    serde_json::from_slice(payload)
        .map_err(|e| format!("the payload was not rendered by the {transport} transport: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_foreign_bytes() {
        let bytes = encode(&vec!["a".to_owned()]).unwrap();
        assert_eq!(decode::<Vec<String>>(&bytes, "x").unwrap(), ["a"]);
        let err = decode::<Vec<String>>(b"not json", "x").unwrap_err();
        assert!(
            err.starts_with("the payload was not rendered by the x transport: "),
            "{err}"
        );
    }
}
