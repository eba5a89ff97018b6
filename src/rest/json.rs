//! Liberal readers of request JSON, as the vendor's real clients differ: `null` means
//! absent, a key matches regardless of case when no key matches exactly, a number may
//! come as a string and an id as a number, and a list of one may come as the bare value.

use serde_json::{Map, Value};

use super::error::RestError;

/// A JSON object of a request, read liberally.
#[derive(Clone, Copy)]
pub(super) struct Object<'a> {
    map: &'a Map<String, Value>,
    /// Names the object in error messages (`UserTags[2]`); empty at the top.
    path: &'a str,
}

impl<'a> Object<'a> {
    /// `v` as an object; `path` names it in errors.
    pub(super) fn new(v: &'a Value, path: &'a str) -> Result<Object<'a>, RestError> {
        match v {
            Value::Object(map) => Ok(Object { map, path }),
            other => Err(RestError::Json(format!(
                "{} must be a JSON object, got {}",
                if path.is_empty() { "the body" } else { path },
                kind(other)
            ))),
        }
    }

    /// The value at `key`; `None` when absent or `null`.
    pub(super) fn get(&self, key: &str) -> Option<&'a Value> {
        self.map
            .get(key)
            .or_else(|| {
                self.map
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(key))
                    .map(|(_, v)| v)
            })
            .filter(|v| !v.is_null())
    }

    /// The keys that are not `null`, with their values.
    pub(super) fn entries(&self) -> impl Iterator<Item = (&'a String, &'a Value)> + use<'a> {
        self.map.iter().filter(|(_, v)| !v.is_null())
    }

    /// The full name of `key` in this object, for error messages.
    pub(super) fn field(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_owned()
        } else {
            format!("{}.{key}", self.path)
        }
    }

    /// A required value.
    pub(super) fn required(&self, key: &str) -> Result<&'a Value, RestError> {
        self.get(key)
            .ok_or_else(|| RestError::Json(format!("{} is required", self.field(key))))
    }

    /// A required list of strings (see [`strings`]).
    pub(super) fn strings(&self, key: &str) -> Result<Vec<String>, RestError> {
        strings(self.required(key)?, &self.field(key))
    }

    /// A required string (see [`string`]).
    pub(super) fn string(&self, key: &str) -> Result<String, RestError> {
        let field = self.field(key);
        string(self.required(key)?)
            .ok_or_else(|| RestError::Json(format!("{field} must be a string")))
    }

    /// An optional string; `None` when absent, `null` or empty.
    pub(super) fn opt_string(&self, key: &str) -> Result<Option<String>, RestError> {
        match self.get(key) {
            None => Ok(None),
            Some(v) => string(v)
                .map(|s| (!s.is_empty()).then_some(s))
                .ok_or_else(|| RestError::Json(format!("{} must be a string", self.field(key)))),
        }
    }

    /// A required list (a single value reads as a list of one; `null` items are
    /// skipped), each item paired with its name in errors (`UserTags[0]`).
    pub(super) fn items(&self, key: &str) -> Result<Vec<(String, &'a Value)>, RestError> {
        let field = self.field(key);
        Ok(match self.required(key)? {
            Value::Array(items) => items
                .iter()
                .enumerate()
                .filter(|(_, v)| !v.is_null())
                .map(|(i, v)| (format!("{field}[{i}]"), v))
                .collect(),
            v => vec![(format!("{field}[0]"), v)],
        })
    }
}

/// A string, or a number or boolean written as one (an id sent as a number).
pub(super) fn string(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// A list of strings (see [`string`]); a bare string reads as a list of one, `null`
/// entries are skipped.
pub(super) fn strings(v: &Value, field: &str) -> Result<Vec<String>, RestError> {
    let bad = || RestError::Json(format!("{field} must be an array of strings"));
    match v {
        Value::Array(items) => items
            .iter()
            .filter(|v| !v.is_null())
            .map(|v| string(v).ok_or_else(bad))
            .collect(),
        Value::String(s) => Ok(vec![s.clone()]),
        _ => Err(bad()),
    }
}

/// An integer, also written as a string (`"120"`) or as a float with no fraction.
pub(super) fn integer(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n.as_i64().or_else(|| {
            n.as_f64()
                .filter(|f| f.fract() == 0.0 && f.abs() < 9.0e15)
                .map(|f| f as i64)
        }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// A short name of a JSON value's kind, for error messages.
pub(super) fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn null_is_absent_and_case_is_forgiven() {
        let v = json!({"MsgRandom": null, "offlinePushInfo": {"Desc": "d"}, "a": 1, "A": 2});
        let o = Object::new(&v, "").unwrap();
        assert!(o.get("MsgRandom").is_none());
        assert!(o.get("OfflinePushInfo").is_some());
        assert_eq!(o.get("a"), Some(&json!(1)));
        assert!(matches!(o.required("MsgRandom"), Err(RestError::Json(_))));
    }

    #[test]
    fn numbers_and_lists_are_read_liberally() {
        assert_eq!(integer(&json!("120")), Some(120));
        assert_eq!(integer(&json!(120.0)), Some(120));
        assert_eq!(integer(&json!(1.5)), None);
        assert_eq!(integer(&json!("x")), None);
        assert_eq!(strings(&json!("a"), "f").unwrap(), vec!["a"]);
        assert_eq!(
            strings(&json!(["a", 7, null]), "f").unwrap(),
            vec!["a", "7"]
        );
        assert!(strings(&json!([{}]), "f").is_err());
    }

    #[test]
    fn items_name_each_item() {
        let v = json!({"UserTags": {"To_Account": "a"}, "L": [null, 1]});
        let o = Object::new(&v, "").unwrap();
        assert_eq!(o.items("L").unwrap()[0].0, "L[1]");
        let items = o.items("UserTags").unwrap();
        assert_eq!(items[0].0, "UserTags[0]");
        let item = Object::new(items[0].1, &items[0].0).unwrap();
        assert_eq!(item.field("Tags"), "UserTags[0].Tags");
    }
}
