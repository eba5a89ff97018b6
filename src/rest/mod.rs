//! Drop-in compatibility with the vendor's REST v4 push API (VENDOR_API.md): the
//! `v4/all_member_push/*` endpoints and `v4/im_open_login_svc/account_import` /
//! `multiaccount_import`, with the vendor's query-string auth (UserSig), request and
//! response JSON and error codes.
//!
//! This layer only translates: pushes, tags, attributes and accounts go through the same
//! [`crate::push`] and [`crate::directory`] calls as GraphQL, so a push made here is a push
//! like any other (`push(id)` shows it; inbox subscribers receive it).
//!
//! Every answer is HTTP 200 with the vendor's envelope
//! `{"ActionStatus":"OK"|"FAIL","ErrorCode":0|code,"ErrorInfo":"",...}`; the codes are
//! in [`RestError`]'s table.

mod accounts;
mod attrs;
mod auth;
mod error;
mod json;
mod push;
mod tags;
pub mod usersig;

use std::collections::HashMap;
use std::sync::Arc;

use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::rejection::QueryRejection;
use axum::extract::{Query, State};
use axum::response::{IntoResponse, Response};
use axum::routing::{MethodRouter, post};
use serde_json::{Map, Value};

use crate::app::App;
pub use error::{RestError, Service};

/// What an endpoint adds to the success envelope (`TaskId`, `UserTags`, ...).
type Extra = Map<String, Value>;

/// An endpoint: reads the request body, calls the domain modules (blocking I/O).
type Handler = fn(&App, &Value) -> Result<Extra, RestError>;

/// What every REST handler shares.
#[derive(Clone)]
struct Rest {
    app: Arc<App>,
    /// The app secret that signs UserSigs, read once (or why it could not be).
    secret: Result<Arc<str>, Arc<str>>,
}

/// The REST routes over `app`, with their own state (merge into the server's router).
pub fn router(app: Arc<App>) -> Router {
    let secret = app
        .config
        .app_secret()
        .map(Arc::from)
        .map_err(|e| Arc::from(e.to_string()));
    let push = |f| endpoint(Service::AllMemberPush, f);
    let login = |f| endpoint(Service::Login, f);
    Router::new()
        .route("/v4/all_member_push/im_push", push(push::im_push))
        .route(
            "/v4/all_member_push/im_set_attr_name",
            push(attrs::im_set_attr_name),
        )
        .route(
            "/v4/all_member_push/im_get_attr_name",
            push(attrs::im_get_attr_name),
        )
        .route("/v4/all_member_push/im_set_attr", push(attrs::im_set_attr))
        .route(
            "/v4/all_member_push/im_remove_attr",
            push(attrs::im_remove_attr),
        )
        .route("/v4/all_member_push/im_get_attr", push(attrs::im_get_attr))
        .route("/v4/all_member_push/im_add_tag", push(tags::im_add_tag))
        .route("/v4/all_member_push/im_get_tag", push(tags::im_get_tag))
        .route(
            "/v4/all_member_push/im_remove_tag",
            push(tags::im_remove_tag),
        )
        .route(
            "/v4/all_member_push/im_remove_all_tags",
            push(tags::im_remove_all_tags),
        )
        .route(
            "/v4/im_open_login_svc/account_import",
            login(accounts::account_import),
        )
        .route(
            "/v4/im_open_login_svc/multiaccount_import",
            login(accounts::multiaccount_import),
        )
        .with_state(Rest { app, secret })
}

fn endpoint(service: Service, handler: Handler) -> MethodRouter<Rest> {
    post(
        move |State(rest): State<Rest>,
              query: Result<Query<HashMap<String, String>>, QueryRejection>,
              body: Body| async move {
            envelope(call(rest, service, handler, query, body).await)
        },
    )
}

/// Checks the credentials, reads the body and runs the handler off the async threads.
async fn call(
    Rest { app, secret }: Rest,
    service: Service,
    handler: Handler,
    query: Result<Query<HashMap<String, String>>, QueryRejection>,
    body: Body,
) -> Result<Extra, RestError> {
    let Query(query) = query.map_err(|e| RestError::Query(e.body_text()))?;
    let secret = secret.map_err(|e| RestError::Internal(format!("the app secret: {e}")))?;
    auth::check(&app, &secret, service, &query)?;
    let max = app.config.api.max_body_bytes;
    let bad_body = |reason: String| match service {
        Service::AllMemberPush => RestError::Json(reason),
        Service::Login => RestError::InvalidParameter(reason),
    };
    let bytes = to_bytes(body, max)
        .await
        .map_err(|_| bad_body(format!("the request body is over {max} bytes")))?;
    let request: Value = if bytes.iter().all(u8::is_ascii_whitespace) {
        Value::Object(Map::new())
    } else {
        serde_json::from_slice(&bytes)
            .map_err(|e| bad_body(format!("the body is not valid JSON: {e}")))?
    };
    match tokio::task::spawn_blocking(move || handler(&app, &request)).await {
        Ok(result) => result,
        Err(join) => Err(RestError::Internal(join.to_string())),
    }
}

/// The `To_Account` list of a request, within the vendor's limit of accounts a call.
fn to_accounts(request: &Value) -> Result<Vec<String>, RestError> {
    let accounts = json::Object::new(request, "")?.strings("To_Account")?;
    RestError::check_accounts("To_Account", accounts.len())?;
    Ok(accounts)
}

/// The vendor's envelope around a result, always HTTP 200.
fn envelope(result: Result<Extra, RestError>) -> Response {
    let mut body = Map::new();
    match result {
        Ok(extra) => {
            body.insert("ActionStatus".into(), "OK".into());
            body.insert("ErrorCode".into(), 0.into());
            body.insert("ErrorInfo".into(), "".into());
            body.extend(extra);
        }
        Err(e) => {
            if e.is_internal() {
                tracing::error!(error = %e, "REST call failed");
            } else {
                tracing::debug!(error = %e, code = e.vendor_code(), "REST call refused");
            }
            body.insert("ActionStatus".into(), "FAIL".into());
            body.insert("ErrorCode".into(), e.vendor_code().into());
            body.insert("ErrorInfo".into(), e.to_string().into());
        }
    }
    axum::Json(Value::Object(body)).into_response()
}
