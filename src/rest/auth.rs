//! The vendor's REST auth: query parameters `sdkappid` (this app's id), `identifier` (the
//! app admin) and `usersig` (a UserSig for that identifier, signed with the app secret,
//! not expired on the server's clock). `random` and `contenttype` are accepted and not
//! checked: the body is always read as JSON.

use std::collections::HashMap;

use super::error::{RestError, Service};
use super::usersig;
use crate::app::App;

/// Refuses a request whose query does not carry the admin's valid UserSig for this app.
pub(super) fn check(
    app: &App,
    secret: &str,
    service: Service,
    query: &HashMap<String, String>,
) -> Result<(), RestError> {
    let param = |name: &str| query.get(name).map(|v| v.trim()).filter(|v| !v.is_empty());
    let given = param("sdkappid").ok_or(RestError::MissingAppId)?;
    let given: u64 = given
        .parse()
        .map_err(|_| RestError::Query(format!("sdkappid {given:?} is not a number")))?;
    let ours = app.config.app.id;
    if given != ours {
        return Err(RestError::WrongApp { given, ours });
    }
    let identifier = param("identifier").ok_or(RestError::MissingCredential("identifier"))?;
    let sig = param("usersig").ok_or(RestError::MissingCredential("usersig"))?;
    let claims = usersig::verify(secret, sig, app.pushes.now())?;
    if claims.identifier != identifier {
        return Err(RestError::UserSigIdentifier {
            signed: claims.identifier,
            given: identifier.to_owned(),
        });
    }
    if claims.sdkappid != given {
        return Err(RestError::UserSigApp {
            signed: claims.sdkappid,
            given,
        });
    }
    if identifier != app.config.app.admin {
        return Err(RestError::NotAdmin {
            service,
            identifier: identifier.to_owned(),
        });
    }
    Ok(())
}
