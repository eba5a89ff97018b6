//! Load tool: fan-out latency to many live inbox sessions, and replay time on reconnect.
//!
//! ```sh
//! cargo run --release --example loadtest -- [--clients 10000] [--pending 100] [--rounds 5]
//! ```
//!
//! It starts a real `herald serve` on 127.0.0.1 with a temporary data dir (the `herald`
//! binary of the same cargo profile, built first when run through cargo; `--server-bin`
//! to pick one), imports the accounts, connects one WebSocket inbox subscription per
//! account from this process, and then:
//!
//! 1. Fan-out: pushes to all accounts `--rounds` times and records when each client
//!    received each push. Latencies are shown from two instants: just before the `push`
//!    mutation was sent, and when its answer arrived (the push is accepted and durable by
//!    then). "last" is when the last of all clients had it.
//! 2. Replay: with every client gone, pushes `--pending` messages to an offline account,
//!    then subscribes it and times from the `subscribe` frame until the last message. This
//!    is client-observed: it includes the network and this client's parsing, so it bounds
//!    the server-side replay time from above.
//!
//! The clients are tasks of one multi-thread tokio runtime on the same machine as the
//! server, so they compete with it for the CPU: the numbers are pessimistic.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio::sync::Semaphore;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;

/// The subscription every client opens: what a typical app asks for.
const INBOX: &str =
    "subscription { inbox { id seq sender sentAt body { ... on TextElement { text } } } }";
const PUSH: &str = "mutation($i: PushInput!) { push(input: $i) { id seq audienceSize } }";
const IMPORT: &str = "mutation($a: [AccountInput!]!) { importAccounts(accounts: $a) { created } }";

/// How long the tool waits for anything (sessions, deliveries) before it gives up.
const PATIENCE: Duration = Duration::from_secs(120);

const USAGE: &str = "usage: loadtest [--clients 10000] [--pending 100] [--rounds 5] \
[--connect-concurrency 200] [--client-threads N] [--hold SECONDS] [--server-bin PATH]";

/// Command-line options.
struct Options {
    clients: usize,
    pending: usize,
    rounds: usize,
    connect_concurrency: usize,
    client_threads: usize,
    /// Seconds to wait between "all subscribed" and the first push (to attach a profiler).
    hold: u64,
    server_bin: Option<PathBuf>,
}

fn parse_args() -> anyhow::Result<Options> {
    let mut opts = Options {
        clients: 10_000,
        pending: 100,
        rounds: 5,
        connect_concurrency: 200,
        client_threads: std::thread::available_parallelism().map_or(2, |n| n.get()),
        hold: 0,
        server_bin: None,
    };
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let value = args
            .next()
            .with_context(|| format!("{arg} needs a value\n{USAGE}"));
        let number = |v: anyhow::Result<String>| -> anyhow::Result<usize> {
            let v = v?;
            v.parse()
                .with_context(|| format!("{arg}: {v:?} is not a number"))
        };
        match arg.as_str() {
            "--clients" => opts.clients = number(value)?,
            "--pending" => opts.pending = number(value)?,
            "--rounds" => opts.rounds = number(value)?.max(1),
            "--connect-concurrency" => opts.connect_concurrency = number(value)?.max(1),
            "--client-threads" => opts.client_threads = number(value)?.max(1),
            "--hold" => opts.hold = number(value)? as u64,
            "--server-bin" => opts.server_bin = Some(value?.into()),
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    Ok(opts)
}

fn main() -> std::process::ExitCode {
    let result = parse_args().and_then(|opts| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(opts.client_threads)
            .enable_all()
            .build()?
            .block_on(run(opts))
    });
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

async fn run(opts: Options) -> anyhow::Result<()> {
    // Every client is a socket (and a second one in the server): raise the open-file limit.
    let limit = rlimit::increase_nofile_limit(u64::MAX).context("cannot raise the fd limit")?;
    if limit < opts.clients as u64 + 100 {
        bail!(
            "the open-file limit is {limit}, too low for {} clients; raise the hard limit \
             (ulimit -Hn) or pass a smaller --clients",
            opts.clients
        );
    }
    warn_port_range(opts.clients);

    let bin = server_binary(opts.server_bin.clone())?;
    let data_dir = tempfile::tempdir()?;
    // A fresh app secret, known to this tool so it can mint client tokens itself, as an app
    // backend would.
    let secret = format!("{:032x}", rand::random::<u128>());
    let server = ServerProcess::start(&bin, data_dir.path(), &secret)?;
    let api = Api {
        http: reqwest::Client::new(),
        url: server.url.clone(),
        admin: admin_token(&bin, data_dir.path(), &secret)?,
    };
    println!(
        "server: {} (pid {}), data in {}, {} client threads in this process",
        server.url,
        server.child.id(),
        data_dir.path().display(),
        opts.client_threads,
    );

    // Accounts.
    let started = Instant::now();
    let ids: Vec<String> = (0..opts.clients).map(|i| format!("load{i:06}")).collect();
    for batch in ids.chunks(1000) {
        let accounts: Vec<Value> = batch.iter().map(|id| json!({ "id": id })).collect();
        api.gql(IMPORT, json!({ "a": accounts })).await?;
    }
    println!(
        "imported {} accounts in {:.2} s",
        ids.len(),
        started.elapsed().as_secs_f64()
    );

    // Clients.
    let slots = Arc::new(Slots::new(opts.clients, opts.rounds));
    let started = Instant::now();
    let clients = connect_all(&opts, &server.url, &secret, &ids, &slots).await?;
    let connected = started.elapsed();
    api.wait_sessions(opts.clients, || slots.check()).await?;
    println!(
        "connected {} clients in {:.2} s, all subscribed after {:.2} s; server RSS {}",
        opts.clients,
        connected.as_secs_f64(),
        started.elapsed().as_secs_f64(),
        rss(server.child.id()),
    );
    if opts.hold > 0 {
        println!("holding {} s before the first push", opts.hold);
        tokio::time::sleep(Duration::from_secs(opts.hold)).await;
    }

    fanout(&opts, &api, &slots, server.child.id()).await?;

    // Replay: first close every client, so the reconnect is measured on a quiet server.
    for client in &clients {
        client.abort();
    }
    api.wait_sessions(0, || Ok(())).await?;
    if opts.pending > 0 {
        replay(&opts, &api, &secret).await?;
    }
    drop(server);
    Ok(())
}

/// Pushes to everyone `opts.rounds` times and prints the receive latencies of each round.
async fn fanout(opts: &Options, api: &Api, slots: &Slots, server_pid: u32) -> anyhow::Result<()> {
    println!();
    println!(
        "fan-out to {} live sessions (ms; \"answer\" = the push mutation's answer arrived):",
        opts.clients
    );
    println!(
        "{:>5} {:>8} | {:>26} | {:>28} | {:>7} | {:>13}",
        "round",
        "answer",
        "from send: p50 / p99 / max",
        "from answer: p50 / p99 / max",
        "missing",
        "cpu srv / cli"
    );
    for round in 0..opts.rounds {
        tokio::time::sleep(Duration::from_millis(500)).await;
        let input = json!({
            "body": [{ "text": { "text": format!("load round {round}") } }],
            "lifetimeSeconds": 3600,
        });
        let cpu_before = (cpu_ms(&server_pid.to_string()), cpu_ms("self"));
        let sent = Instant::now();
        let answer = api.gql(PUSH, json!({ "i": input })).await?;
        let answered = Instant::now();
        let audience = answer["push"]["audienceSize"].as_u64().unwrap_or(0);
        if audience < opts.clients as u64 {
            bail!(
                "the push reached an audience of {audience}, expected {}",
                opts.clients
            );
        }
        let deadline = Instant::now() + PATIENCE;
        while slots.received(round) < opts.clients && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        let server_cpu = cpu_ms(&server_pid.to_string()) - cpu_before.0;
        let client_cpu = cpu_ms("self") - cpu_before.1;
        let got = slots.instants(round);
        let from = |start: Instant| -> Vec<f64> {
            let mut v: Vec<f64> = got.iter().map(|t| signed_ms(*t, start)).collect();
            v.sort_by(f64::total_cmp);
            v
        };
        let (s, a) = (from(sent), from(answered));
        println!(
            "{round:>5} {:>8.1} | {:>8.1} {:>8.1} {:>8.1} | {:>9.1} {:>8.1} {:>8.1} | {:>7} | {:>6.0} {:>6.0}",
            ms(answered - sent),
            pct(&s, 0.50),
            pct(&s, 0.99),
            pct(&s, 1.0),
            pct(&a, 0.50),
            pct(&a, 0.99),
            pct(&a, 1.0),
            opts.clients - got.len(),
            server_cpu,
            client_cpu,
        );
    }
    let errors = slots.errors.load(Ordering::Relaxed);
    if errors > 0 {
        println!("{errors} error frames received by the clients");
    }
    println!(
        "(\"max\" is the time until the last client received the push; \"cpu\" is the CPU time \
         in ms the server and this tool used from the send until the last receipt)"
    );
    Ok(())
}

/// Times the replay of `opts.pending` pushes to an account that was offline when they
/// were sent.
async fn replay(opts: &Options, api: &Api, secret: &str) -> anyhow::Result<()> {
    let account = "replay-probe";
    api.gql(
        "mutation { importAccounts(accounts: [{id: \"replay-probe\"}]) { created } \
         addUserTags(input: [{account: \"replay-probe\", tags: [\"replay-probe\"]}]) { changed } }",
        json!({}),
    )
    .await?;
    for i in 0..opts.pending {
        let input = json!({
            "body": [{ "text": { "text": format!("pending {i}") } }],
            "lifetimeSeconds": 600,
            "target": { "tagsAnd": ["replay-probe"] },
        });
        api.gql(PUSH, json!({ "i": input })).await?;
    }
    println!();
    println!(
        "replay of {} pending pushes on reconnect (ms, client-observed from the subscribe \
         frame; an upper bound of the server's time):",
        opts.pending
    );
    println!("{:>5} {:>8} {:>8}", "try", "first", "all");
    let token = client_token(secret, account)?;
    let addr = api.url.trim_start_matches("http://").to_owned();
    for attempt in 0..5 {
        let mut ws = open(&addr, &token).await?;
        let start = Instant::now();
        ws.send(Message::text(subscribe_frame())).await?;
        let mut first = None;
        let mut texts = Vec::with_capacity(opts.pending);
        while texts.len() < opts.pending {
            let frame = tokio::time::timeout(PATIENCE, ws.next())
                .await
                .context("replay stalled")?
                .context("the server closed the connection")??;
            if let Message::Text(text) = frame
                && text.contains("\"next\"")
            {
                first.get_or_insert_with(Instant::now);
                texts.push(text);
            }
        }
        let all = start.elapsed();
        // Checked after the clock stopped: every message, oldest first.
        let seqs: Vec<u64> = texts
            .iter()
            .map(|t| {
                let v: Value = serde_json::from_str(t)?;
                v["payload"]["data"]["inbox"]["seq"]
                    .as_str()
                    .and_then(|s| s.parse().ok())
                    .with_context(|| format!("not an inbox message: {t}"))
            })
            .collect::<anyhow::Result<_>>()?;
        if !seqs.windows(2).all(|w| w[0] < w[1]) {
            bail!("replayed out of order: {seqs:?}");
        }
        let first = first.map_or(0.0, |t| ms(t - start));
        println!("{attempt:>5} {first:>8.2} {:>8.2}", ms(all));
        let _ = ws.close(None).await;
    }
    Ok(())
}

/// When each client received each round: nanoseconds since `base`, 0 = not yet.
struct Slots {
    base: Instant,
    rounds: usize,
    nanos: Vec<AtomicU64>,
    per_round: Vec<AtomicUsize>,
    errors: AtomicUsize,
    /// The first error frame a client received.
    first_error: std::sync::Mutex<Option<String>>,
}

impl Slots {
    fn new(clients: usize, rounds: usize) -> Slots {
        Slots {
            base: Instant::now(),
            rounds,
            nanos: (0..clients * rounds).map(|_| AtomicU64::new(0)).collect(),
            per_round: (0..rounds).map(|_| AtomicUsize::new(0)).collect(),
            errors: AtomicUsize::new(0),
            first_error: std::sync::Mutex::new(None),
        }
    }

    fn error(&self, frame: &str) {
        self.errors.fetch_add(1, Ordering::Relaxed);
        let mut first = self.first_error.lock().unwrap();
        first.get_or_insert_with(|| frame.to_owned());
    }

    /// Fails when a client has received an error (a refused subscription).
    fn check(&self) -> anyhow::Result<()> {
        match &*self.first_error.lock().unwrap() {
            Some(frame) => bail!("a client received an error: {frame}"),
            None => Ok(()),
        }
    }

    fn record(&self, client: usize, round: usize, at: Instant) {
        let nanos = (at - self.base).as_nanos() as u64 + 1;
        self.nanos[client * self.rounds + round].store(nanos, Ordering::Relaxed);
        self.per_round[round].fetch_add(1, Ordering::Release);
    }

    fn received(&self, round: usize) -> usize {
        self.per_round[round].load(Ordering::Acquire)
    }

    /// The receive instants of `round`, of the clients that received it.
    fn instants(&self, round: usize) -> Vec<Instant> {
        self.nanos
            .iter()
            .skip(round)
            .step_by(self.rounds)
            .map(|n| n.load(Ordering::Relaxed))
            .filter(|&n| n > 0)
            .map(|n| self.base + Duration::from_nanos(n - 1))
            .collect()
    }
}

/// Connects and subscribes one client per account, at most `connect_concurrency` at a
/// time; returns when every subscription has been sent.
async fn connect_all(
    opts: &Options,
    url: &str,
    secret: &str,
    ids: &[String],
    slots: &Arc<Slots>,
) -> anyhow::Result<Vec<tokio::task::JoinHandle<()>>> {
    let addr = url.trim_start_matches("http://").to_owned();
    let gate = Arc::new(Semaphore::new(opts.connect_concurrency));
    let (done_tx, mut done_rx) = tokio::sync::mpsc::unbounded_channel();
    let mut handles = Vec::with_capacity(ids.len());
    for (index, id) in ids.iter().enumerate() {
        let token = client_token(secret, id)?;
        let (addr, gate, slots, done) =
            (addr.clone(), gate.clone(), slots.clone(), done_tx.clone());
        handles.push(tokio::spawn(async move {
            let permit = gate.acquire_owned().await;
            let ws = match open(&addr, &token).await {
                Ok(mut ws) => match ws.send(Message::text(subscribe_frame())).await {
                    Ok(()) => ws,
                    Err(e) => {
                        let _ = done.send(Err(anyhow::Error::from(e)));
                        return;
                    }
                },
                Err(e) => {
                    let _ = done.send(Err(e));
                    return;
                }
            };
            drop(permit);
            let _ = done.send(Ok(()));
            drop(done);
            receive(ws, index, &slots).await;
        }));
    }
    drop(done_tx);
    for _ in 0..ids.len() {
        match done_rx.recv().await {
            Some(Ok(())) => {}
            Some(Err(e)) => {
                for h in &handles {
                    h.abort();
                }
                return Err(e.context("a client could not connect"));
            }
            None => bail!("a client task ended early"),
        }
    }
    Ok(handles)
}

/// One client's life after it subscribed: note when each inbox message arrives.
async fn receive(mut ws: WebSocketStream<TcpStream>, index: usize, slots: &Slots) {
    let mut round = 0;
    while let Some(Ok(frame)) = ws.next().await {
        let Message::Text(text) = frame else {
            continue;
        };
        let at = Instant::now();
        if std::env::var_os("LT_DEBUG").is_some() {
            eprintln!("{text}");
        }
        // Cheap checks instead of parsing: this runs 10,000 times per push.
        if text.contains("\"next\"") {
            if text.contains("\"errors\"") {
                slots.error(&text);
            } else if round < slots.rounds {
                slots.record(index, round, at);
                round += 1;
            }
        } else if text.contains("\"ping\"") {
            let _ = ws.send(Message::text(r#"{"type":"pong"}"#)).await;
        } else if text.contains("\"error\"") {
            slots.error(&text);
        }
    }
}

/// A WebSocket connection to the server at `addr`, initialized with `token` (small
/// buffers: there are thousands of them).
async fn open(addr: &str, token: &str) -> anyhow::Result<WebSocketStream<TcpStream>> {
    let mut request = format!("ws://{addr}/graphql").into_client_request()?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let stream = TcpStream::connect(addr).await?;
    stream.set_nodelay(true)?;
    let config = WebSocketConfig::default()
        .read_buffer_size(4096)
        .write_buffer_size(0);
    let (mut ws, _) =
        tokio_tungstenite::client_async_with_config(request, stream, Some(config)).await?;
    let init = json!({
        "type": "connection_init",
        "payload": { "authorization": format!("Bearer {token}") },
    });
    ws.send(Message::text(init.to_string())).await?;
    loop {
        match ws.next().await.context("closed before connection_ack")?? {
            Message::Text(text) if text.contains("connection_ack") => return Ok(ws),
            Message::Text(text) => bail!("expected connection_ack, got {text}"),
            _ => {}
        }
    }
}

fn subscribe_frame() -> String {
    json!({ "id": "1", "type": "subscribe", "payload": { "query": INBOX } }).to_string()
}

/// A client token for `account`, minted with a JWT library as an app backend does.
fn client_token(secret: &str, account: &str) -> anyhow::Result<String> {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)?
        .as_secs();
    let exp = now + 86_400;
    let claims = json!({ "sub": account, "iat": now, "exp": exp });
    let key = jsonwebtoken::EncodingKey::from_secret(secret.as_bytes());
    Ok(jsonwebtoken::encode(
        &jsonwebtoken::Header::default(),
        &claims,
        &key,
    )?)
}

/// The admin HTTP API of the server under test.
struct Api {
    http: reqwest::Client,
    url: String,
    admin: String,
}

impl Api {
    /// Runs a GraphQL request as admin; a GraphQL error is an error.
    async fn gql(&self, query: &str, variables: Value) -> anyhow::Result<Value> {
        let body: Value = self
            .http
            .post(format!("{}/graphql", self.url))
            .bearer_auth(&self.admin)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await?
            .json()
            .await?;
        if let Some(errors) = body.get("errors") {
            bail!("GraphQL error: {errors}");
        }
        Ok(body["data"].clone())
    }

    /// Waits until the server reports exactly `n` inbox sessions (`herald_sessions`), or
    /// `check` fails.
    async fn wait_sessions(
        &self,
        n: usize,
        check: impl Fn() -> anyhow::Result<()>,
    ) -> anyhow::Result<()> {
        let deadline = Instant::now() + PATIENCE;
        let mut last = None;
        while Instant::now() < deadline {
            check()?;
            let text = self
                .http
                .get(format!("{}/metrics", self.url))
                .send()
                .await?
                .text()
                .await?;
            last = text
                .lines()
                .find_map(|l| l.strip_prefix("herald_sessions "))
                .and_then(|v| v.trim().parse::<f64>().ok());
            if last == Some(n as f64) {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        bail!("expected {n} inbox sessions, the server reports {last:?}")
    }
}

/// The `herald` server process; killed on drop.
struct ServerProcess {
    child: Child,
    url: String,
}

impl ServerProcess {
    fn start(bin: &Path, data_dir: &Path, secret: &str) -> anyhow::Result<ServerProcess> {
        let mut child = Command::new(bin)
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir)
            .env("HERALD_APP_SECRET", secret)
            .env(
                "RUST_LOG",
                std::env::var("RUST_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        // It prints `herald listening on http://ADDR` once it is ready.
        let mut line = String::new();
        let stdout = child.stdout.take().context("no stdout")?;
        std::io::BufRead::read_line(&mut std::io::BufReader::new(stdout), &mut line)?;
        let Some(url) = line.trim().strip_prefix("herald listening on ") else {
            let _ = child.kill();
            bail!("the server did not start (it printed {line:?})");
        };
        Ok(ServerProcess {
            url: url.to_owned(),
            child,
        })
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn admin_token(bin: &Path, data_dir: &Path, secret: &str) -> anyhow::Result<String> {
    let out = Command::new(bin)
        .args(["token", "--admin", "--data-dir"])
        .arg(data_dir)
        .env("HERALD_APP_SECRET", secret)
        .output()?;
    if !out.status.success() {
        bail!(
            "herald token failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8(out.stdout)?.trim().to_owned())
}

/// The `herald` binary to test: `explicit`, else the one of this example's cargo profile
/// (`target/<profile>/herald` next to `target/<profile>/examples/loadtest`). When run
/// through cargo, it is built first, so it is never older than the sources.
fn server_binary(explicit: Option<PathBuf>) -> anyhow::Result<PathBuf> {
    if let Some(bin) = explicit {
        return Ok(bin);
    }
    let exe = std::env::current_exe()?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .context("cannot locate the target directory")?;
    let profile = profile_dir
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("release");
    if profile == "debug" {
        eprintln!("warning: a debug build measures little; run with --release");
    }
    let bin = profile_dir.join(format!("herald{}", std::env::consts::EXE_SUFFIX));
    if let Ok(cargo) = std::env::var("CARGO") {
        let target_dir = profile_dir.parent().context("no target directory")?;
        let status = Command::new(cargo)
            .args(["build", "--quiet", "--bin", "herald", "--manifest-path"])
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml"))
            .arg("--target-dir")
            .arg(target_dir)
            .args([
                "--profile",
                if profile == "debug" { "dev" } else { profile },
            ])
            .status()
            .context("cannot run cargo to build the server")?;
        if !status.success() {
            bail!("building the herald binary failed");
        }
    }
    if !bin.exists() {
        bail!(
            "{} not found: build it (cargo build --release --bin herald) or pass --server-bin",
            bin.display()
        );
    }
    Ok(bin)
}

/// Warns when the loopback connections may run out of ephemeral ports.
fn warn_port_range(clients: usize) {
    let Ok(range) = std::fs::read_to_string("/proc/sys/net/ipv4/ip_local_port_range") else {
        return;
    };
    let ports: Vec<usize> = range
        .split_whitespace()
        .filter_map(|p| p.parse().ok())
        .collect();
    if let [low, high] = ports[..]
        && high - low < clients + 100
    {
        eprintln!(
            "warning: only {} ephemeral ports ({range:?}) for {clients} clients",
            high - low
        );
    }
}

/// The resident memory of process `pid` (from /proc), or "?".
fn rss(pid: u32) -> String {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| {
            s.lines()
                .find_map(|l| l.strip_prefix("VmRSS:"))
                .map(|v| v.trim().to_owned())
        })
        .unwrap_or_else(|| "?".into())
}

/// CPU time (user + system) in ms used so far by process `pid` ("self" for this one), from
/// /proc in clock ticks of 10 ms; NaN where unknown.
fn cpu_ms(pid: &str) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return f64::NAN;
    };
    // The fields after the command name: state is the first, utime the 12th, stime the 13th.
    let fields: Vec<&str> = stat
        .rsplit_once(')')
        .map_or("", |(_, rest)| rest)
        .split_whitespace()
        .collect();
    let tick = |i: usize| fields.get(i).and_then(|v| v.parse::<f64>().ok());
    match (tick(11), tick(12)) {
        (Some(user), Some(system)) => (user + system) * 10.0,
        _ => f64::NAN,
    }
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1000.0
}

/// `t - start` in milliseconds, negative when `t` came first.
fn signed_ms(t: Instant, start: Instant) -> f64 {
    if t >= start {
        ms(t - start)
    } else {
        -ms(start - t)
    }
}

/// The `q` quantile (nearest rank) of sorted `v`; NaN when empty.
fn pct(v: &[f64], q: f64) -> f64 {
    if v.is_empty() {
        return f64::NAN;
    }
    let rank = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len());
    v[rank - 1]
}
