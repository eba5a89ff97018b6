//! What a plugin's store holds, and the host imports it may call: outbound HTTP, publish to
//! live sessions, log, clock. Each capability is denied unless the plugin's config grants it;
//! a denied call returns an error value, it never traps. WASI is linked with an empty
//! context: no environment, no preopened folders, no sockets; stdout and stderr go to a small
//! buffer whose tail is logged when the plugin fails (a panic message lands there).

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use futures_util::StreamExt as _;
use parking_lot::Mutex;
use wasmtime::component::ResourceTable;
use wasmtime::{ResourceLimiter, StoreLimits, StoreLimitsBuilder};
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

use super::Publisher;
use super::config::AllowedHost;
use super::contract::herald::transport::host::{self, HttpError, Level, Request, Response};
use super::contract::herald::transport::types;
use super::counters::Histogram;

/// Requests of one `http-send` call in flight at once.
const HTTP_CONCURRENCY: usize = 64;
/// Largest response body handed back to a plugin.
const MAX_RESPONSE_BYTES: usize = 4 << 20;
/// Longest log line kept from a plugin.
const MAX_LOG_CHARS: usize = 2048;
/// Bytes of a plugin's stdout/stderr kept (the most recent ones).
const OUTPUT_TAIL_BYTES: usize = 2048;

/// The capabilities granted to one plugin, shared by all its instances.
pub(crate) struct Capabilities {
    /// The plugin's name, tagged on its log lines.
    pub(crate) plugin: String,
    /// `None` when `allow_hosts` is empty.
    pub(crate) http: Option<HttpGrant>,
    /// `None` unless `allow_publish`.
    pub(crate) publisher: Option<Arc<dyn Publisher>>,
    /// Wall time spent in `http-send` by all instances, in microseconds.
    pub(crate) http_micros: AtomicU64,
    /// How long each request took.
    pub(crate) http_latency: Histogram,
}

impl Capabilities {
    /// Nothing granted (what `herald plugin check` runs a component with).
    pub(crate) fn none(plugin: &str) -> Capabilities {
        Capabilities {
            plugin: plugin.to_owned(),
            http: None,
            publisher: None,
            http_micros: AtomicU64::new(0),
            http_latency: Histogram::default(),
        }
    }
}

/// The HTTP capability: a client (shared by the plugins that trust the same roots) and where
/// it may go.
pub(crate) struct HttpGrant {
    pub(crate) client: reqwest::Client,
    pub(crate) hosts: Vec<AllowedHost>,
    pub(crate) plain_http: bool,
    /// Per-request timeout.
    pub(crate) timeout: Duration,
}

/// Builds an HTTP client: HTTP/2 over TLS through ALPN (HTTP/1.1 otherwise), pooled
/// connections, no redirects (a redirect could leave the allowed hosts), public web roots
/// plus `extra_roots` (PEM).
pub(crate) fn http_client(extra_roots: Option<&[u8]>) -> Result<reqwest::Client, String> {
    let mut builder = reqwest::Client::builder()
        .use_rustls_tls()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(10))
        .pool_idle_timeout(Duration::from_secs(90))
        .http2_adaptive_window(true)
        .user_agent(concat!("herald/", env!("CARGO_PKG_VERSION")));
    if let Some(pem) = extra_roots {
        let certs = reqwest::Certificate::from_pem_bundle(pem).map_err(|e| e.to_string())?;
        if certs.is_empty() {
            return Err("no PEM certificate in the file".to_owned());
        }
        for cert in certs {
            builder = builder.add_root_certificate(cert);
        }
    }
    builder.build().map_err(|e| e.to_string())
}

/// The data of one plugin instance's store.
pub(crate) struct HostState {
    wasi: WasiCtx,
    table: ResourceTable,
    pub(crate) limits: MemoryCap,
    pub(crate) caps: Arc<Capabilities>,
    /// When the current call must stop; checked at every epoch tick.
    pub(crate) deadline: Instant,
    pub(crate) output: OutputTail,
}

impl HostState {
    pub(crate) fn new(caps: Arc<Capabilities>, memory_bytes: usize) -> HostState {
        let output = OutputTail::default();
        let wasi = WasiCtx::builder()
            .stdout(output.clone())
            .stderr(output.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .allow_ip_name_lookup(false)
            .build();
        HostState {
            wasi,
            table: ResourceTable::new(),
            limits: MemoryCap::new(memory_bytes),
            caps,
            deadline: Instant::now(),
            output,
        }
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}

/// `StoreLimits` with the memory cap, remembering whether the cap refused a growth: the guest
/// then usually aborts (a trap), and the host reports the cap rather than the trap.
pub(crate) struct MemoryCap {
    limits: StoreLimits,
    bytes: usize,
    pub(crate) hit: bool,
}

impl MemoryCap {
    fn new(bytes: usize) -> MemoryCap {
        MemoryCap {
            limits: StoreLimitsBuilder::new()
                .memory_size(bytes)
                .table_elements(1 << 20)
                .instances(64)
                .build(),
            bytes,
            hit: false,
        }
    }
}

impl ResourceLimiter for MemoryCap {
    fn memory_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.bytes {
            self.hit = true;
        }
        self.limits.memory_growing(current, desired, maximum)
    }

    fn table_growing(
        &mut self,
        current: usize,
        desired: usize,
        maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        self.limits.table_growing(current, desired, maximum)
    }

    fn instances(&self) -> usize {
        self.limits.instances()
    }

    fn tables(&self) -> usize {
        self.limits.tables()
    }

    fn memories(&self) -> usize {
        self.limits.memories()
    }
}

/// A plugin's stdout and stderr: accepts everything, keeps the last bytes.
#[derive(Clone, Default)]
pub(crate) struct OutputTail(Arc<Mutex<VecDeque<u8>>>);

impl OutputTail {
    /// Takes what was written since the last call, lossily decoded.
    pub(crate) fn take(&self) -> String {
        let bytes: Vec<u8> = self.0.lock().drain(..).collect();
        String::from_utf8_lossy(&bytes).trim().to_owned()
    }
}

impl tokio::io::AsyncWrite for OutputTail {
    fn poll_write(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let mut tail = self.0.lock();
        tail.extend(buf.iter().rev().take(OUTPUT_TAIL_BYTES).rev());
        let excess = tail.len().saturating_sub(OUTPUT_TAIL_BYTES);
        tail.drain(..excess);
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl wasmtime_wasi::cli::IsTerminal for OutputTail {
    fn is_terminal(&self) -> bool {
        false
    }
}

impl wasmtime_wasi::cli::StdoutStream for OutputTail {
    fn async_stream(&self) -> Box<dyn tokio::io::AsyncWrite + Send + Sync> {
        Box::new(self.clone())
    }
}

impl types::Host for HostState {}

impl host::Host for HostState {
    async fn http_send(&mut self, requests: Vec<Request>) -> Vec<Result<Response, HttpError>> {
        let Some(grant) = &self.caps.http else {
            let why = format!(
                "plugin {:?} has no HTTP capability (allow_hosts is empty)",
                self.caps.plugin
            );
            return requests
                .iter()
                .map(|_| Err(HttpError::Denied(why.clone())))
                .collect();
        };
        let started = Instant::now();
        let latency = &self.caps.http_latency;
        let responses = futures_util::stream::iter(requests)
            .map(|request| async move {
                let sent = Instant::now();
                let response = send_one(grant, request).await;
                latency.record(sent.elapsed());
                response
            })
            .buffered(HTTP_CONCURRENCY)
            .collect()
            .await;
        self.caps
            .http_micros
            .fetch_add(started.elapsed().as_micros() as u64, Ordering::Relaxed);
        responses
    }

    async fn publish(&mut self, account: String, payload: Vec<u8>) -> Result<u32, String> {
        match &self.caps.publisher {
            Some(publisher) => Ok(publisher.publish(&account, &payload)),
            None => Err(format!(
                "denied: plugin {:?} may not publish (allow_publish = false)",
                self.caps.plugin
            )),
        }
    }

    async fn log(&mut self, level: Level, message: String) {
        let message: String = message.chars().take(MAX_LOG_CHARS).collect();
        let plugin = self.caps.plugin.as_str();
        match level {
            Level::Debug => tracing::debug!(plugin, "{message}"),
            Level::Info => tracing::info!(plugin, "{message}"),
            Level::Warn => tracing::warn!(plugin, "{message}"),
            Level::Error => tracing::error!(plugin, "{message}"),
        }
    }

    async fn now_ms(&mut self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as u64)
    }
}

/// Checks one request against the grant, then runs it.
async fn send_one(grant: &HttpGrant, request: Request) -> Result<Response, HttpError> {
    let url = reqwest::Url::parse(&request.url)
        .map_err(|e| HttpError::Denied(format!("invalid URL {:?}: {e}", request.url)))?;
    match url.scheme() {
        "https" => {}
        "http" if grant.plain_http => {}
        "http" => {
            return Err(HttpError::Denied(format!(
                "plain http:// is not allowed ({url}); set allow_plain_http"
            )));
        }
        other => {
            return Err(HttpError::Denied(format!(
                "scheme {other:?} is not allowed"
            )));
        }
    }
    let host = url
        .host_str()
        .unwrap_or_default()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_ascii_lowercase();
    let port = url.port_or_known_default().unwrap_or(0);
    if !grant.hosts.iter().any(|h| h.matches(&host, port)) {
        return Err(HttpError::Denied(format!(
            "host {host}:{port} is not in allow_hosts"
        )));
    }
    let method = reqwest::Method::from_bytes(request.method.as_bytes())
        .map_err(|_| HttpError::Connection(format!("invalid method {:?}", request.method)))?;
    let mut headers = reqwest::header::HeaderMap::new();
    for (name, value) in &request.headers {
        let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
            .map_err(|_| HttpError::Connection(format!("invalid header name {name:?}")))?;
        if name == reqwest::header::HOST {
            return Err(HttpError::Denied(
                "the Host header is set by Herald".to_owned(),
            ));
        }
        let value = reqwest::header::HeaderValue::from_str(value)
            .map_err(|_| HttpError::Connection(format!("invalid value of header {name}")))?;
        headers.append(name, value);
    }
    let classify = |e: reqwest::Error| {
        if e.is_timeout() {
            HttpError::Timeout
        } else {
            HttpError::Connection(error_chain(&e))
        }
    };
    let mut response = grant
        .client
        .request(method, url)
        .headers(headers)
        .body(request.body)
        .timeout(grant.timeout)
        .send()
        .await
        .map_err(classify)?;
    let status = response.status().as_u16();
    let headers = response
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_owned(),
                String::from_utf8_lossy(v.as_bytes()).into_owned(),
            )
        })
        .collect();
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.map_err(classify)? {
        if body.len() + chunk.len() > MAX_RESPONSE_BYTES {
            return Err(HttpError::Connection(format!(
                "response body larger than {MAX_RESPONSE_BYTES} bytes"
            )));
        }
        body.extend_from_slice(&chunk);
    }
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// An error and its causes on one line (reqwest's top-level message alone says little).
fn error_chain(e: &dyn std::error::Error) -> String {
    let mut text = e.to_string();
    let mut source = e.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
