//! `im_push`: the vendor's push request translated into a [`PushRequest`].
//!
//! - `Condition` (an object, or an array of objects as the vendor's Java SDK sends it,
//!   whose parts are merged) becomes the [`Target`] parts `tagsAnd`, `tagsOr`, `attrsAnd`,
//!   `attrsOr`; parts given together must all hold. No condition, `null`, `{}`, `[]` or
//!   only empty lists means every account. An unknown key in it is refused (90001) rather
//!   than ignored, so a misspelt condition never becomes a push to everyone.
//! - `MsgBody` and `OfflinePushInfo` are read by the push module's vendor readers.
//! - `MsgLifeTime` (default 0) is the lifetime; `From_Account` the sender (default the
//!   admin).
//! - `MsgRandom` is the idempotency key `msgrandom:<n>`: the same number within 7 days
//!   answers the first push's `TaskId` and sends nothing again.

use serde_json::Value;

use super::Extra;
use super::error::{MAX_TAGS, RestError};
use super::json::{Object, integer, kind, string, strings};
use crate::app::App;
use crate::audience::Target;
use crate::push::PushRequest;
use crate::push::body::{OfflinePush, body_from_vendor};

/// The `Condition` keys, as the vendor spells them.
const CONDITION_KEYS: [&str; 4] = ["TagsAnd", "TagsOr", "AttrsAnd", "AttrsOr"];

/// `v4/all_member_push/im_push`: answers `TaskId`, the push's id.
pub(super) fn im_push(app: &App, request: &Value) -> Result<Extra, RestError> {
    let req = Object::new(request, "")?;
    let msg_random = match req.get("MsgRandom") {
        None => return Err(RestError::MsgRandom("it is missing".into())),
        Some(v) => integer(v)
            .and_then(|n| u32::try_from(n).ok())
            .ok_or_else(|| RestError::MsgRandom(format!("got {v}")))?,
    };
    let lifetime_seconds = match req.get("MsgLifeTime") {
        None => 0,
        Some(v) => integer(v).ok_or_else(|| RestError::Lifetime(format!("got {v}")))?,
    };
    let target = condition(app, req.get("Condition"))?;
    let body = body_from_vendor(
        req.get("MsgBody")
            .ok_or_else(|| RestError::Body("it is required".into()))?,
    )?;
    let offline_push = req
        .get("OfflinePushInfo")
        .map(OfflinePush::from_vendor)
        .transpose()?;
    let view = app.pushes.accept(PushRequest {
        target,
        sender: req.opt_string("From_Account")?,
        body,
        offline_push,
        lifetime_seconds,
        idempotency_key: Some(format!("msgrandom:{msg_random}")),
    })?;
    let mut extra = Extra::new();
    extra.insert("TaskId".into(), view.record.id.into());
    Ok(extra)
}

/// Reads `Condition` into a target and applies the vendor's rules on it.
fn condition(app: &App, v: Option<&Value>) -> Result<Target, RestError> {
    let parts: Vec<&Value> = match v {
        None => Vec::new(),
        Some(Value::Array(items)) => items.iter().filter(|v| !v.is_null()).collect(),
        Some(v) => vec![v],
    };
    let mut target = Target::default();
    for (i, part) in parts.iter().enumerate() {
        let path = if matches!(v, Some(Value::Array(_))) {
            format!("Condition[{i}]")
        } else {
            "Condition".to_owned()
        };
        let part = Object::new(part, &path)?;
        for (key, value) in part.entries() {
            let Some(name) = CONDITION_KEYS.iter().find(|k| k.eq_ignore_ascii_case(key)) else {
                return Err(RestError::Json(format!(
                    "{}: unknown key; a condition holds TagsAnd, TagsOr, AttrsAnd and AttrsOr",
                    part.field(key)
                )));
            };
            let field = part.field(name);
            let slot_taken = match *name {
                "TagsAnd" => set(&mut target.tags_and, strings(value, &field)?),
                "TagsOr" => set(&mut target.tags_or, strings(value, &field)?),
                "AttrsAnd" => set(&mut target.attrs_and, attrs(value, &field)?),
                _ => set(&mut target.attrs_or, attrs(value, &field)?),
            };
            if slot_taken {
                return Err(RestError::Json(format!(
                    "{field}: given twice in Condition"
                )));
            }
        }
    }
    check_tags(app, &target)?;
    Ok(target)
}

/// Sets an empty `slot` to `value` when it holds something; true when the slot was
/// already set.
fn set<T>(slot: &mut Option<Vec<T>>, value: Vec<T>) -> bool {
    if value.is_empty() {
        return false;
    }
    let taken = slot.is_some();
    *slot = Some(value);
    taken
}

/// `{name: value}` pairs; a value may be a number, a `null` value is left out.
fn attrs(v: &Value, field: &str) -> Result<Vec<(String, String)>, RestError> {
    let Value::Object(map) = v else {
        return Err(RestError::Json(format!(
            "{field} must be an object of attribute name to value, got {}",
            kind(v)
        )));
    };
    map.iter()
        .filter(|(_, v)| !v.is_null())
        .map(|(name, value)| {
            string(value)
                .map(|value| (name.clone(), value))
                .ok_or_else(|| RestError::Json(format!("{field}.{name} must be a string")))
        })
        .collect()
}

/// The vendor's rules on tag conditions: not with attribute conditions (90039), at most
/// 10 tags a list (90032), no empty tag (90040), none over the tag limit (90020), no tag
/// in both lists (90022).
fn check_tags(app: &App, target: &Target) -> Result<(), RestError> {
    let has_tags = target.tags_and.is_some() || target.tags_or.is_some();
    if has_tags && (target.attrs_and.is_some() || target.attrs_or.is_some()) {
        return Err(RestError::TagsWithAttributes);
    }
    let max_bytes = app.directory.limits().tag_bytes;
    for (name, list) in [("TagsAnd", &target.tags_and), ("TagsOr", &target.tags_or)] {
        let Some(list) = list else { continue };
        if list.len() > MAX_TAGS {
            return Err(RestError::TooManyTags(format!(
                "Condition.{name} has {} tags; a condition takes at most {MAX_TAGS}",
                list.len()
            )));
        }
        for (i, tag) in list.iter().enumerate() {
            if tag.is_empty() {
                return Err(RestError::EmptyTag(format!(
                    "Condition.{name}[{i}] is an empty tag"
                )));
            }
            if tag.len() > max_bytes {
                return Err(RestError::TagTooLong(format!(
                    "Condition.{name}[{i}] is {} bytes; a tag is at most {max_bytes} bytes",
                    tag.len()
                )));
            }
        }
    }
    if let (Some(and), Some(or)) = (&target.tags_and, &target.tags_or)
        && let Some(tag) = and.iter().find(|t| or.contains(t))
    {
        return Err(RestError::SameTag(tag.clone()));
    }
    Ok(())
}
