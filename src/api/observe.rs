//! An async-graphql extension that counts calls and errors per root field for `/metrics`
//! and gives every error a stable `extensions.code`.

use std::sync::Arc;

use async_graphql::extensions::{
    Extension, ExtensionContext, ExtensionFactory, NextRequest, NextResolve, ResolveInfo,
};
use async_graphql::{Response, ServerResult, Value};

use crate::metrics::Metrics;

/// Factory of the observing extension.
pub(super) struct Observe {
    metrics: Arc<Metrics>,
}

impl Observe {
    pub(super) fn new(metrics: Arc<Metrics>) -> Self {
        Observe { metrics }
    }
}

impl ExtensionFactory for Observe {
    fn create(&self) -> Arc<dyn Extension> {
        Arc::new(ObserveExtension {
            metrics: self.metrics.clone(),
        })
    }
}

struct ObserveExtension {
    metrics: Arc<Metrics>,
}

fn code_of(value: Option<&Value>) -> &'static str {
    const CODES: [&str; 8] = [
        "UNAUTHENTICATED",
        "FORBIDDEN",
        "INVALID_ARGUMENT",
        "LIMIT_EXCEEDED",
        "NOT_FOUND",
        "CONFLICT",
        "RATE_LIMITED",
        "INTERNAL",
    ];
    match value {
        Some(Value::String(s)) => CODES
            .iter()
            .find(|c| *c == s)
            .copied()
            .unwrap_or("INTERNAL"),
        _ => "INTERNAL",
    }
}

#[async_trait::async_trait]
impl Extension for ObserveExtension {
    async fn request(&self, ctx: &ExtensionContext<'_>, next: NextRequest<'_>) -> Response {
        let mut response = next.run(ctx).await;
        super::ensure_codes(&mut response);
        for error in response.errors.iter().filter(|e| e.path.is_empty()) {
            let code = code_of(error.extensions.as_ref().and_then(|e| e.get("code")));
            self.metrics.error("_request", code);
        }
        response
    }

    async fn resolve(
        &self,
        ctx: &ExtensionContext<'_>,
        info: ResolveInfo<'_>,
        next: NextResolve<'_>,
    ) -> ServerResult<Option<Value>> {
        let root = info.path_node.parent.is_none() && !info.is_for_introspection;
        let name = info.name.to_owned();
        if root {
            self.metrics.request(&name);
        }
        let result = next.run(ctx, info).await;
        if root && let Err(e) = &result {
            let code = code_of(e.extensions.as_ref().and_then(|x| x.get("code")));
            self.metrics.error(&name, code);
        }
        result
    }
}
