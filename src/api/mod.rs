//! The GraphQL API: the schema's roots, credentials and error codes. Thin: resolvers parse
//! their input and call the domain modules; no storage type appears here.

pub mod auth;
mod body;
mod cursor;
mod devices;
mod directory;
mod errors;
mod inbox;
mod observe;
mod plugins;
mod push;
mod target;

use std::sync::Arc;

use async_graphql::{Context, MergedObject, MergedSubscription, Schema};

use crate::app::App;
use auth::{Auth, Principal, require_admin};
pub(crate) use errors::ensure_codes;
use errors::gql;

/// All queries.
#[derive(MergedObject, Default)]
pub struct Query(
    directory::DirectoryQuery,
    push::PushQuery,
    plugins::PluginQuery,
);

/// All mutations.
#[derive(MergedObject, Default)]
pub struct Mutation(
    directory::DirectoryMutation,
    devices::DeviceMutation,
    push::PushMutation,
    inbox::InboxMutation,
);

/// All subscriptions.
#[derive(MergedSubscription, Default)]
pub struct Subscription(inbox::InboxSubscription);

/// The Herald GraphQL schema.
pub type HeraldSchema = Schema<Query, Mutation, Subscription>;

/// Builds the schema over `app` (or with no app, for printing the SDL).
pub fn schema(app: Option<Arc<App>>) -> HeraldSchema {
    let mut builder = Schema::build(
        Query::default(),
        Mutation::default(),
        Subscription::default(),
    );
    if let Some(app) = app {
        builder = builder
            .limit_depth(app.config.api.max_depth)
            .limit_complexity(app.config.api.max_complexity)
            .extension(observe::Observe::new(app.metrics.clone()))
            .data(app);
    }
    builder.finish()
}

/// The schema in SDL, as checked in at `schema.graphql`.
pub fn sdl() -> String {
    schema(None).sdl()
}

/// The app, for resolvers open to every valid token (they check the account themselves).
fn app<'a>(ctx: &Context<'a>) -> &'a Arc<App> {
    ctx.data_unchecked::<Arc<App>>()
}

/// The caller's credential, as checked when the request arrived.
fn auth<'a>(ctx: &Context<'a>) -> &'a Auth {
    static MISSING: Auth = Err(auth::AuthError::Missing);
    ctx.data_opt::<Auth>().unwrap_or(&MISSING)
}

/// The account of a client token (`FORBIDDEN` for an admin token: it has no inbox).
fn client<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a str> {
    match auth(ctx) {
        Ok(Principal::Client(id)) => Ok(id),
        Ok(Principal::Admin) => Err(gql(auth::AuthError::Forbidden(
            "the inbox belongs to an account: use a client token".into(),
        ))),
        Err(e) => Err(gql(e.clone())),
    }
}

/// The app, for admin-only resolvers: `UNAUTHENTICATED` or `FORBIDDEN` otherwise.
fn admin<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Arc<App>> {
    require_admin(auth(ctx)).map_err(gql)?;
    Ok(app(ctx))
}
