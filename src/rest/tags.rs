//! User tags: `im_add_tag`, `im_get_tag`, `im_remove_tag`, `im_remove_all_tags`.
//!
//! At most 100 accounts a call (90018) and 10 tags per user in one `im_add_tag` (90032);
//! the directory applies its own rules after (tags 1..50 bytes, at most 100 per user,
//! adding a held tag is a no-op) and a call is all or nothing.

use serde_json::{Value, json};

use super::error::{MAX_TAGS, RestError};
use super::json::Object;
use super::{Extra, to_accounts};
use crate::app::App;
use crate::directory::UserTags;

/// `im_add_tag`: `{"UserTags":[{"To_Account":..,"Tags":[..]}]}`.
pub(super) fn im_add_tag(app: &App, request: &Value) -> Result<Extra, RestError> {
    let input = user_tags(request)?;
    for (i, u) in input.iter().enumerate() {
        if u.tags.len() > MAX_TAGS {
            return Err(RestError::TooManyTags(format!(
                "UserTags[{i}].Tags has {} tags; one request adds at most {MAX_TAGS} per user",
                u.tags.len()
            )));
        }
    }
    app.directory
        .add_user_tags(&input)
        .map_err(RestError::from_tags)?;
    Ok(Extra::new())
}

/// `im_remove_tag`: same shape as `im_add_tag`; removing a tag not held is a no-op.
pub(super) fn im_remove_tag(app: &App, request: &Value) -> Result<Extra, RestError> {
    let input = user_tags(request)?;
    app.directory
        .remove_user_tags(&input)
        .map_err(RestError::from_tags)?;
    Ok(Extra::new())
}

/// `im_remove_all_tags`: `{"To_Account":[..]}`.
pub(super) fn im_remove_all_tags(app: &App, request: &Value) -> Result<Extra, RestError> {
    let accounts = to_accounts(request)?;
    app.directory
        .remove_all_user_tags(&accounts)
        .map_err(RestError::from_tags)?;
    Ok(Extra::new())
}

/// `im_get_tag`: `{"To_Account":[..]}` -> `UserTags`, in the order asked. An account that
/// was never imported has no tags.
pub(super) fn im_get_tag(app: &App, request: &Value) -> Result<Extra, RestError> {
    let accounts = to_accounts(request)?;
    let read = app
        .directory
        .accounts_by_id(&accounts)
        .map_err(RestError::from_tags)?;
    let found: Vec<Value> = accounts
        .iter()
        .zip(read)
        .map(|(id, a)| json!({"To_Account": id, "Tags": a.map(|a| a.tags).unwrap_or_default()}))
        .collect();
    let mut extra = Extra::new();
    extra.insert("UserTags".into(), found.into());
    Ok(extra)
}

fn user_tags(request: &Value) -> Result<Vec<UserTags>, RestError> {
    let items = Object::new(request, "")?.items("UserTags")?;
    RestError::check_accounts("UserTags", items.len())?;
    items
        .iter()
        .map(|(path, v)| {
            let item = Object::new(v, path)?;
            Ok(UserTags {
                account: item.string("To_Account")?,
                tags: item.strings("Tags")?,
            })
        })
        .collect()
}
