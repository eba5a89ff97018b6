//! Attributes: the app's attribute names (`im_set_attr_name`, `im_get_attr_name`, slots
//! `"0"`..`"9"`) and user values (`im_set_attr`, `im_get_attr`, `im_remove_attr`).
//!
//! Names merge by slot (a slot not named in the request keeps its name) and values merge
//! per user, as in GraphQL. Anything wrong with a name or value is 90033; at most 100
//! accounts a call (90018); a call is all or nothing.

use serde_json::{Map, Value, json};

use super::Extra;
use super::error::RestError;
use super::json::{Object, kind, string, strings};
use super::to_accounts;
use crate::app::App;
use crate::directory::{UserAttributeNames, UserAttributes};

/// `im_set_attr_name`: `{"AttrNames":{"0":"sex","1":"city"}}`; a `null` name is left out.
pub(super) fn im_set_attr_name(app: &App, request: &Value) -> Result<Extra, RestError> {
    let names = Object::new(request, "")?.required("AttrNames")?;
    let Value::Object(names) = names else {
        return Err(RestError::Json(format!(
            "AttrNames must be an object of slot (\"0\"..\"9\") to name, got {}",
            kind(names)
        )));
    };
    let mut slots = Vec::with_capacity(names.len());
    for (key, name) in names.iter().filter(|(_, v)| !v.is_null()) {
        let slot = key.trim().parse::<i64>().map_err(|_| {
            RestError::InvalidAttribute(format!("AttrNames: {key:?} is not a slot 0..9"))
        })?;
        let name = string(name)
            .ok_or_else(|| RestError::Json(format!("AttrNames.{key} must be a string")))?;
        slots.push((slot, name));
    }
    app.directory
        .set_attribute_names(&slots)
        .map_err(RestError::from_attrs)?;
    Ok(Extra::new())
}

/// `im_get_attr_name`: answers `AttrNames` with the named slots as string keys.
pub(super) fn im_get_attr_name(app: &App, request: &Value) -> Result<Extra, RestError> {
    Object::new(request, "")?;
    let names: Map<String, Value> = app
        .directory
        .attribute_names()
        .into_iter()
        .map(|(slot, name)| (slot.to_string(), name.into()))
        .collect();
    let mut extra = Extra::new();
    extra.insert("AttrNames".into(), names.into());
    Ok(extra)
}

/// `im_get_attr`: `{"To_Account":[..]}` -> `UserAttrs`, in the order asked. An account
/// that was never imported has no attributes.
pub(super) fn im_get_attr(app: &App, request: &Value) -> Result<Extra, RestError> {
    let accounts = to_accounts(request)?;
    let read = app
        .directory
        .accounts_by_id(&accounts)
        .map_err(RestError::from_attrs)?;
    let found: Vec<Value> = accounts
        .iter()
        .zip(read)
        .map(|(id, a)| {
            let attrs: Map<String, Value> = a
                .map(|a| a.attributes)
                .unwrap_or_default()
                .into_iter()
                .map(|(name, value)| (name, value.into()))
                .collect();
            json!({"To_Account": id, "Attrs": attrs})
        })
        .collect();
    let mut extra = Extra::new();
    extra.insert("UserAttrs".into(), found.into());
    Ok(extra)
}

/// `im_set_attr`: `{"UserAttrs":[{"To_Account":..,"Attrs":{"city":"Shenzhen"}}]}`; a
/// value may be a number, a `null` value is left out.
pub(super) fn im_set_attr(app: &App, request: &Value) -> Result<Extra, RestError> {
    let input = user_attrs(request, |item, field| {
        let attrs = item.required("Attrs")?;
        let Value::Object(attrs) = attrs else {
            return Err(RestError::Json(format!(
                "{field} must be an object of attribute name to value, got {}",
                kind(attrs)
            )));
        };
        attrs
            .iter()
            .filter(|(_, v)| !v.is_null())
            .map(|(name, value)| {
                let value = string(value)
                    .ok_or_else(|| RestError::Json(format!("{field}.{name} must be a string")))?;
                Ok((name.clone(), value))
            })
            .collect()
    })?;
    let input: Vec<UserAttributes> = input
        .into_iter()
        .map(|(account, attributes)| UserAttributes {
            account,
            attributes,
        })
        .collect();
    app.directory
        .set_user_attributes(&input)
        .map_err(RestError::from_attrs)?;
    Ok(Extra::new())
}

/// `im_remove_attr`: `{"UserAttrs":[{"To_Account":..,"Attrs":["sex","city"]}]}`.
pub(super) fn im_remove_attr(app: &App, request: &Value) -> Result<Extra, RestError> {
    let input = user_attrs(request, |item, field| {
        strings(item.required("Attrs")?, field)
    })?;
    let input: Vec<UserAttributeNames> = input
        .into_iter()
        .map(|(account, names)| UserAttributeNames { account, names })
        .collect();
    app.directory
        .remove_user_attributes(&input)
        .map_err(RestError::from_attrs)?;
    Ok(Extra::new())
}

/// The `UserAttrs` list: each item's `To_Account` and its `Attrs` read by `attrs` (given
/// the item and the name of its `Attrs` field).
fn user_attrs<T>(
    request: &Value,
    attrs: impl Fn(&Object<'_>, &str) -> Result<T, RestError>,
) -> Result<Vec<(String, T)>, RestError> {
    let items = Object::new(request, "")?.items("UserAttrs")?;
    RestError::check_accounts("UserAttrs", items.len())?;
    items
        .iter()
        .map(|(path, v)| {
            let item = Object::new(v, path)?;
            Ok((
                item.string("To_Account")?,
                attrs(&item, &item.field("Attrs"))?,
            ))
        })
        .collect()
}
