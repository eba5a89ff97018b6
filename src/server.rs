//! The HTTP server: GraphiQL, GraphQL over POST and WebSocket, health and metrics.

use std::future::Future;
use std::sync::Arc;

use async_graphql::Data;
use async_graphql::http::{ALL_WEBSOCKET_PROTOCOLS, GraphiQLSource};
use async_graphql_axum::{GraphQLProtocol, GraphQLResponse, GraphQLWebSocket};
use axum::Router;
use axum::body::{Body, to_bytes};
use axum::extract::{State, WebSocketUpgrade};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use axum::routing::get;
use axum::serve::ListenerExt;
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::api::{self, HeraldSchema, auth::Auth};
use crate::app::App;
use crate::error::Code;

#[derive(Clone)]
struct Shared {
    app: Arc<App>,
    schema: HeraldSchema,
    /// Becomes true at shutdown: WebSocket sessions, which outlive graceful HTTP shutdown
    /// as upgraded connections, end on it.
    stopping: watch::Receiver<bool>,
}

/// The router of the whole HTTP surface over `app`; WebSocket sessions end when
/// `stopping` becomes true.
pub fn router(app: Arc<App>, stopping: watch::Receiver<bool>) -> Router {
    let schema = api::schema(Some(app.clone()));
    let rest = crate::rest::router(app.clone());
    Router::new()
        .route("/", get(graphiql))
        .route("/graphql", get(websocket).post(graphql))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/metrics", get(metrics))
        .with_state(Shared {
            app,
            schema,
            stopping,
        })
        .merge(rest)
}

/// How often expired pushes are retired (their snapshots freed).
const SWEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(1);

/// Serves `app` on `listener` until `shutdown` resolves, then drains open requests.
/// Also runs the expiry sweeper for as long as it serves.
pub async fn run(
    listener: TcpListener,
    app: Arc<App>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    app.start_transports()
        .await
        .map_err(|e| std::io::Error::other(e.to_string()))?;
    let sweeper = tokio::spawn(sweep(app.clone()));
    let (stop, stopping) = watch::channel(false);
    let shutdown = async move {
        shutdown.await;
        let _ = stop.send(true);
    };
    // Pushes are small writes: without TCP_NODELAY, Nagle's algorithm and delayed ACKs hold
    // them back ~40 ms (a 100-push replay took 43 ms client-side; 1 ms is the cost).
    let listener = listener.tap_io(|stream| {
        if let Err(e) = stream.set_nodelay(true) {
            tracing::debug!(error = %e, "cannot set TCP_NODELAY");
        }
    });
    let delivery = app.delivery.clone();
    let served = axum::serve(listener, router(app, stopping))
        .with_graceful_shutdown(shutdown)
        .await;
    sweeper.abort();
    let _ = sweeper.await;
    delivery.stop_notifications().await;
    served
}

async fn sweep(app: Arc<App>) {
    let mut tick = tokio::time::interval(SWEEP_EVERY);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tick.tick().await;
        let pushes = app.pushes.clone();
        match tokio::task::spawn_blocking(move || pushes.sweep()).await {
            Ok(Ok(0)) => {}
            Ok(Ok(n)) => tracing::debug!(retired = n, "expired pushes retired"),
            Ok(Err(e)) => tracing::error!(error = %e, "expiry sweep failed"),
            Err(e) => tracing::error!(error = %e, "expiry sweep panicked"),
        }
    }
}

async fn graphiql() -> Html<String> {
    Html(
        GraphiQLSource::build()
            .endpoint("/graphql")
            .subscription_endpoint("/graphql")
            .title("Herald")
            .finish(),
    )
}

async fn metrics(State(s): State<Shared>) -> impl IntoResponse {
    (
        [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
        s.app.metrics_text(),
    )
}

/// A GraphQL-shaped error response for failures before the schema runs.
fn request_error(status: StatusCode, code: Code, limit: Option<&str>, message: String) -> Response {
    let mut extensions = serde_json::json!({ "code": code.as_str() });
    if let Some(limit) = limit {
        extensions["limit"] = limit.into();
    }
    let body = serde_json::json!({ "errors": [{ "message": message, "extensions": extensions }] });
    (status, axum::Json(body)).into_response()
}

async fn graphql(State(s): State<Shared>, headers: HeaderMap, body: Body) -> Response {
    let max = s.app.config.api.max_body_bytes;
    let Ok(bytes) = to_bytes(body, max).await else {
        return request_error(
            StatusCode::PAYLOAD_TOO_LARGE,
            Code::LimitExceeded,
            Some("requestBytes"),
            format!("the request body is over {max} bytes"),
        );
    };
    let request: async_graphql::Request = match serde_json::from_slice(&bytes) {
        Ok(r) => r,
        Err(e) => {
            return request_error(
                StatusCode::BAD_REQUEST,
                Code::InvalidArgument,
                None,
                format!("the body is not a GraphQL request: {e}"),
            );
        }
    };
    let authorization = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok());
    let auth: Auth = s.app.keys.verify_header(authorization);
    GraphQLResponse::from(s.schema.execute(request.data(auth)).await).into_response()
}

async fn websocket(
    State(s): State<Shared>,
    protocol: GraphQLProtocol,
    upgrade: WebSocketUpgrade,
) -> Response {
    let keys = s.app.keys.clone();
    let mut stopping = s.stopping;
    // Clients send only small control frames: a 4 KiB read buffer instead of the default
    // 128 KiB keeps 10,000 sessions at ~200 MiB instead of ~1.5 GiB.
    upgrade
        .read_buffer_size(4 * 1024)
        .protocols(ALL_WEBSOCKET_PROTOCOLS)
        .on_upgrade(move |stream| async move {
            let session = GraphQLWebSocket::new(stream, s.schema, protocol)
                .on_connection_init(move |payload| async move {
                    let header = payload.get("authorization").and_then(|v| v.as_str());
                    let auth: Auth = keys.verify_header(header);
                    let mut data = Data::default();
                    data.insert(auth);
                    Ok(data)
                })
                .serve();
            tokio::select! {
                () = session => {}
                _ = stopping.wait_for(|stop| *stop) => {}
            }
        })
}
