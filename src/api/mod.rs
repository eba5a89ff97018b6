//! The GraphQL API: the schema's roots, credentials and error codes. Thin: resolvers parse
//! their input and call the domain modules; no storage type appears here.

pub mod auth;
mod body;
mod cursor;
mod directory;
mod errors;
mod observe;
mod push;
mod target;

use std::sync::Arc;

use async_graphql::{Context, EmptySubscription, MergedObject, Schema};

use crate::app::App;
use auth::{Auth, require_admin};
pub(crate) use errors::ensure_codes;
use errors::gql;

/// All queries.
#[derive(MergedObject, Default)]
pub struct Query(directory::DirectoryQuery, push::PushQuery);

/// All mutations.
#[derive(MergedObject, Default)]
pub struct Mutation(directory::DirectoryMutation, push::PushMutation);

/// The Herald GraphQL schema.
pub type HeraldSchema = Schema<Query, Mutation, EmptySubscription>;

/// Builds the schema over `app` (or with no app, for printing the SDL).
pub fn schema(app: Option<Arc<App>>) -> HeraldSchema {
    let mut builder = Schema::build(Query::default(), Mutation::default(), EmptySubscription);
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

/// The app, for admin-only resolvers: `UNAUTHENTICATED` or `FORBIDDEN` otherwise.
fn admin<'a>(ctx: &Context<'a>) -> async_graphql::Result<&'a Arc<App>> {
    require_admin(auth(ctx)).map_err(gql)?;
    Ok(app(ctx))
}
