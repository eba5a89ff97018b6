//! Turns module errors into GraphQL errors with a stable `extensions.code`, and runs
//! blocking module calls off the async workers.

use async_graphql::{ErrorExtensions, Response, ServerError};

use crate::error::{Classify, Code};

/// A GraphQL error for any module error: message, `code`, and `field`/`limit` when known.
/// Internal errors are logged in full and shown without their details.
pub(crate) fn gql(e: impl Classify) -> async_graphql::Error {
    let c = e.classify();
    let message = if c.code == Code::Internal {
        tracing::error!(error = %e, "internal error");
        "internal error; see the server log".to_owned()
    } else {
        e.to_string()
    };
    async_graphql::Error::new(message).extend_with(|_, ext| {
        ext.set("code", c.code.as_str());
        if let Some(field) = &c.field {
            ext.set("field", field.as_str());
        }
        if let Some(limit) = &c.limit {
            ext.set("limit", limit.as_str());
        }
    })
}

/// Runs a blocking module call (store I/O) on tokio's blocking pool.
pub(crate) async fn blocking<T, E>(
    f: impl FnOnce() -> Result<T, E> + Send + 'static,
) -> async_graphql::Result<T>
where
    T: Send + 'static,
    E: Classify + Send + 'static,
{
    match tokio::task::spawn_blocking(f).await {
        Ok(result) => result.map_err(gql),
        Err(join) => Err(gql(Panicked(join.to_string()))),
    }
}

#[derive(Debug, thiserror::Error)]
#[error("a blocking task failed: {0}")]
struct Panicked(String);

impl Classify for Panicked {
    fn classify(&self) -> crate::error::Classified {
        crate::error::Classified::new(Code::Internal)
    }
}

/// Gives every error of a response a `code`: errors of parsing, validation and the
/// depth/complexity limits come from async-graphql without one.
pub(crate) fn ensure_codes(response: &mut Response) {
    for error in &mut response.errors {
        ensure_code(error);
    }
}

fn ensure_code(error: &mut ServerError) {
    let ext = error.extensions.get_or_insert_with(Default::default);
    if ext.get("code").is_some() {
        return;
    }
    let message = error.message.as_str();
    let (code, limit) = if message.contains("too complex") {
        (Code::LimitExceeded, Some("queryComplexity"))
    } else if message.contains("nested too deep") {
        (Code::LimitExceeded, Some("queryDepth"))
    } else if error.path.is_empty() {
        (Code::InvalidArgument, None)
    } else {
        (Code::Internal, None)
    };
    ext.set("code", code.as_str());
    if let Some(limit) = limit {
        ext.set("limit", limit);
    }
}
