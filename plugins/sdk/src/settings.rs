//! Checks every plugin makes of its `[plugins.<name>.settings]` table.

use std::collections::BTreeMap;

use crate::Setting;

/// The settings by key; unknown and repeated keys are errors, so a typo is not silently
/// ignored.
pub fn by_key<'a>(
    settings: &'a [Setting],
    known: &[&str],
) -> Result<BTreeMap<&'a str, &'a str>, String> {
    let mut map = BTreeMap::new();
    for s in settings {
        if !known.contains(&s.key.as_str()) {
            return Err(format!(
                "unknown setting `{}` (known: {})",
                s.key,
                known.join(", ")
            ));
        }
        if map.insert(s.key.as_str(), s.value.as_str()).is_some() {
            return Err(format!("setting `{}` is given twice", s.key));
        }
    }
    Ok(map)
}

/// An `https://` (or, for tests and proxies, `http://`) URL without query or fragment; the
/// trailing `/` is dropped so paths can be appended. The error names setting `name` and
/// shows `example`.
pub fn http_url(name: &str, value: &str, example: &str) -> Result<String, String> {
    let value = value.trim();
    let rest = value
        .strip_prefix("https://")
        .or_else(|| value.strip_prefix("http://"));
    match rest {
        Some(rest)
            if !rest.is_empty()
                && !rest.starts_with('/')
                && !rest.contains(['?', '#'])
                && !rest.chars().any(|c| c.is_whitespace() || c.is_control()) =>
        {
            Ok(value.trim_end_matches('/').to_owned())
        }
        _ => Err(format!(
            "setting `{name}`: {value:?} is not an http(s) URL like {example}"
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn setting(key: &str, value: &str) -> Setting {
        Setting {
            key: key.into(),
            value: value.into(),
        }
    }

    #[test]
    fn by_key_refuses_unknown_and_repeated_keys() {
        let known = ["a", "b"];
        let settings = [setting("a", "1"), setting("b", "2")];
        let map = by_key(&settings, &known).unwrap();
        assert_eq!(map.get("a"), Some(&"1"));
        assert_eq!(
            by_key(&[setting("c", "1")], &known).unwrap_err(),
            "unknown setting `c` (known: a, b)"
        );
        assert_eq!(
            by_key(&[setting("a", "1"), setting("a", "2")], &known).unwrap_err(),
            "setting `a` is given twice"
        );
    }

    #[test]
    fn http_url_drops_the_trailing_slash_and_refuses_the_rest() {
        assert_eq!(
            http_url("u", " http://127.0.0.1:9/ ", "https://x").unwrap(),
            "http://127.0.0.1:9"
        );
        for url in [
            "ftp://x",
            "https://",
            "https://h/?q",
            "https:///p",
            "h.example",
        ] {
            let err = http_url("u", url, "https://x").unwrap_err();
            assert!(err.starts_with("setting `u`:"), "{err}");
            assert!(
                err.ends_with("is not an http(s) URL like https://x"),
                "{err}"
            );
        }
    }
}
