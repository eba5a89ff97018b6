//! Account import (`v4/im_open_login_svc/*`): all-user and tag pushes reach imported (or
//! logged-in) accounts only, as with the vendor.
//!
//! - `account_import`: `{"UserID":..,"Nick":..,"FaceUrl":..}`. Re-importing keeps the
//!   account's tags and attributes and updates its nick when one is given. Herald keeps no
//!   avatar: `FaceUrl` is accepted and ignored. The older spelling `Identifier` is read as
//!   `UserID`.
//! - `multiaccount_import`: the old form `{"Accounts":["u1","u2"]}` and the new form
//!   `{"AccountList":[{"UserID":..,"Nick":..}]}` (both may be given), at most 100 accounts.
//!   Partial, as the vendor's: the accounts Herald cannot take (an empty or too long id, the
//!   admin identity, a too long nick) are answered in `FailAccounts` and the others are
//!   imported, in one transaction.

use serde_json::Value;

use super::Extra;
use super::error::{MAX_ACCOUNTS, RestError};
use super::json::{Object, kind, string};
use crate::app::App;
use crate::directory::NewAccount;

/// `account_import`: one account.
pub(super) fn account_import(app: &App, request: &Value) -> Result<Extra, RestError> {
    let account = new_account(Object::new(request, "").map_err(login)?)?;
    app.directory
        .import_accounts(&[account])
        .map_err(RestError::from_import)?;
    Ok(Extra::new())
}

/// `multiaccount_import`: answers `FailAccounts`, the ids not imported.
pub(super) fn multiaccount_import(app: &App, request: &Value) -> Result<Extra, RestError> {
    let req = Object::new(request, "").map_err(login)?;
    let mut accounts = Vec::new();
    for key in ["Accounts", "AccountList"] {
        if req.get(key).is_none() {
            continue;
        }
        for (path, v) in req.items(key).map_err(login)? {
            accounts.push(match v {
                Value::Object(_) => new_account(Object::new(v, &path).map_err(login)?)?,
                other => NewAccount {
                    id: string(other).ok_or_else(|| {
                        RestError::InvalidParameter(format!(
                            "{path} must be an account id or an object with UserID, got {}",
                            kind(other)
                        ))
                    })?,
                    nick: None,
                },
            });
        }
    }
    if accounts.is_empty() {
        return Err(RestError::InvalidParameter(
            "Accounts or AccountList is required".into(),
        ));
    }
    if accounts.len() > MAX_ACCOUNTS {
        return Err(RestError::InvalidParameter(format!(
            "{} accounts; a call imports at most {MAX_ACCOUNTS}",
            accounts.len()
        )));
    }
    // What the directory would refuse is reported in FailAccounts; the rest is imported.
    let (ok, failed): (Vec<NewAccount>, Vec<NewAccount>) = accounts
        .into_iter()
        .partition(|a| app.directory.check_account("account", a).is_ok());
    if !ok.is_empty() {
        app.directory
            .import_accounts(&ok)
            .map_err(RestError::from_import)?;
    }
    let mut extra = Extra::new();
    let failed: Vec<Value> = failed.into_iter().map(|a| a.id.into()).collect();
    extra.insert("FailAccounts".into(), failed.into());
    Ok(extra)
}

/// An account object: `UserID` (or `Identifier`), optional `Nick`; `FaceUrl` is ignored.
fn new_account(item: Object<'_>) -> Result<NewAccount, RestError> {
    let key = if item.get("UserID").is_none() && item.get("Identifier").is_some() {
        "Identifier"
    } else {
        "UserID"
    };
    Ok(NewAccount {
        id: item.string(key).map_err(login)?,
        nick: item.opt_string("Nick").map_err(login)?,
    })
}

/// A malformed request on the account service is its "invalid parameter" (70402).
fn login(e: RestError) -> RestError {
    match e {
        RestError::Json(reason) => RestError::InvalidParameter(reason),
        other => other,
    }
}
