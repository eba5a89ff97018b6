//! A real Herald server on 127.0.0.1:0 with a temporary data dir, and a GraphQL client.

pub(crate) mod ws;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use herald::api::auth::Principal;
use herald::app::App;
use herald::config::Config;
use herald::time::ManualClock;
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// An HTTP client of one server: GraphQL, plain GETs and metrics. [`Server`] and
/// [`Process`] dereference to it.
pub(crate) struct Client {
    /// `http://ADDR`.
    pub(crate) url: String,
    http: reqwest::Client,
}

impl Client {
    fn new(url: String) -> Client {
        Client {
            url,
            http: reqwest::Client::new(),
        }
    }

    /// POSTs a GraphQL request with an optional bearer token; returns the JSON body.
    pub(crate) async fn gql_as(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut req = self
            .http
            .post(format!("{}/graphql", self.url))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap().json().await.unwrap()
    }

    /// POSTs with `token` and expects no error; returns `data`.
    pub(crate) async fn ok_as(&self, token: &str, query: &str, variables: Value) -> Value {
        let body = self.gql_as(Some(token), query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// GETs a path and returns (status, body).
    pub(crate) async fn get(&self, path: &str) -> (u16, String) {
        let resp = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    /// The underlying HTTP client, for requests of other shapes.
    pub(crate) fn http(&self) -> &reqwest::Client {
        &self.http
    }

    /// The value of an unlabelled metric from `/metrics`.
    pub(crate) async fn metric(&self, name: &str) -> f64 {
        let (_, text) = self.get("/metrics").await;
        let prefix = format!("{name} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&prefix))
            .unwrap_or_else(|| panic!("no metric {name} in {text}"))
            .trim()
            .parse()
            .unwrap()
    }

    /// Waits until `n` inbox sessions are registered (subscriptions open asynchronously).
    pub(crate) async fn wait_sessions(&self, n: usize) {
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
        loop {
            let have = self.metric("herald_sessions").await;
            if have == n as f64 {
                return;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "expected {n} sessions, have {have}"
            );
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
        }
    }
}

/// A server running in this process; stopped on `stop` or drop.
pub(crate) struct Server {
    client: Client,
    pub(crate) app: Arc<App>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
}

impl std::ops::Deref for Server {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

/// The config of a test server on `data_dir`.
pub(crate) fn config(data_dir: &Path) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.to_path_buf(),
        ..Config::default()
    }
}

impl Server {
    /// Starts a server with the default config on `data_dir`.
    pub(crate) async fn start(data_dir: &Path) -> Server {
        Self::start_with(config(data_dir)).await
    }

    /// Starts a server with `config`.
    pub(crate) async fn start_with(config: Config) -> Server {
        Self::start_app(App::open(config).expect("open app"), None).await
    }

    /// Starts a server whose connections have a small kernel send buffer, as on a
    /// constrained network, so a client that stops reading soon blocks the server's writes.
    pub(crate) async fn start_with_send_buffer(config: Config, bytes: u32) -> Server {
        Self::start_app(App::open(config).expect("open app"), Some(bytes)).await
    }

    /// Starts a server whose clock only moves when the test says so.
    pub(crate) async fn start_with_clock(data_dir: &Path, clock: Arc<ManualClock>) -> Server {
        Self::start_app(
            App::open_with_clock(config(data_dir), clock).expect("open app"),
            None,
        )
        .await
    }

    async fn start_app(app: Arc<App>, send_buffer: Option<u32>) -> Server {
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        if let Some(bytes) = send_buffer {
            socket.set_send_buffer_size(bytes).unwrap();
        }
        socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
        let listener = socket.listen(1024).unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        let served = app.clone();
        let task = tokio::spawn(async move {
            herald::server::run(listener, served, async {
                let _ = rx.await;
            })
            .await
            .unwrap();
        });
        Server {
            client: Client::new(url),
            app,
            stop: Some(tx),
            task: Some(task),
        }
    }

    /// Stops the server and waits until it has released the data dir.
    pub(crate) async fn stop(mut self) {
        if let Some(tx) = self.stop.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            task.await.unwrap();
        }
        let app = self.app.clone();
        drop(self);
        // The store closes when the last App reference goes.
        assert_eq!(
            Arc::strong_count(&app),
            1,
            "app still referenced after stop"
        );
    }

    pub(crate) fn admin_token(&self) -> String {
        self.app.keys.mint(&Principal::Admin, 3600)
    }

    pub(crate) fn client_token(&self, account: &str) -> String {
        self.app.keys.mint(&Principal::Client(account.into()), 3600)
    }

    /// POSTs a GraphQL request as admin.
    pub(crate) async fn gql(&self, query: &str, variables: Value) -> Value {
        let token = self.admin_token();
        self.gql_as(Some(&token), query, variables).await
    }

    /// POSTs as admin and expects no error; returns `data`.
    pub(crate) async fn ok(&self, query: &str, variables: Value) -> Value {
        self.ok_as(&self.admin_token(), query, variables).await
    }
}

/// The first error's `extensions.code`.
pub(crate) fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}

/// The path of the herald binary built by cargo for these tests.
pub(crate) fn herald_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_herald"))
}

/// A real `herald serve` process (the binary cargo built) on a data dir, listening on
/// 127.0.0.1:0, with `HERALD_CONFIG` and `HERALD_APP_SECRET` removed from its environment.
/// Killed with SIGKILL on drop if still running.
pub(crate) struct Process {
    /// Its client, at `http://ADDR` from its first stdout line.
    client: Client,
    /// The data dir it serves.
    pub(crate) data_dir: PathBuf,
    child: std::process::Child,
    /// Kept open so the process never writes to a closed pipe.
    _stdout: std::io::BufReader<std::process::ChildStdout>,
    /// Its stderr (the log), collected by a thread.
    log: Arc<std::sync::Mutex<String>>,
}

impl std::ops::Deref for Process {
    type Target = Client;

    fn deref(&self) -> &Client {
        &self.client
    }
}

impl Process {
    /// Spawns `herald serve --listen 127.0.0.1:0 --data-dir DATA_DIR` and waits until it
    /// prints `herald listening on http://ADDR`.
    pub(crate) fn spawn(data_dir: &Path) -> Process {
        Self::spawn_with_config(data_dir, None)
    }

    /// [`Process::spawn`] with `--config FILE`.
    pub(crate) fn spawn_with_config(data_dir: &Path, config: Option<&Path>) -> Process {
        use std::io::{BufRead, Read};
        use std::process::{Command, Stdio};
        let mut command = Command::new(herald_bin());
        command
            .args(["serve", "--listen", "127.0.0.1:0", "--data-dir"])
            .arg(data_dir);
        if let Some(config) = config {
            command.arg("--config").arg(config);
        }
        let mut child = command
            .env_remove("HERALD_CONFIG")
            .env_remove("HERALD_APP_SECRET")
            .env_remove("HERALD_LISTEN")
            .env_remove("HERALD_DATA_DIR")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn herald serve");
        let log = Arc::new(std::sync::Mutex::new(String::new()));
        let mut stderr = child.stderr.take().unwrap();
        let sink = log.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            while let Ok(n) = stderr.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock()
                    .unwrap()
                    .push_str(&String::from_utf8_lossy(&buf[..n]));
            }
        });
        let mut stdout = std::io::BufReader::new(child.stdout.take().unwrap());
        let mut line = String::new();
        stdout.read_line(&mut line).expect("read herald's stdout");
        let Some(url) = line.trim().strip_prefix("herald listening on ") else {
            let status = child.wait().ok();
            std::thread::sleep(std::time::Duration::from_millis(100));
            panic!(
                "herald serve did not start (first line {line:?}, exit {status:?}); log:\n{}",
                log.lock().unwrap()
            );
        };
        Process {
            client: Client::new(url.to_owned()),
            data_dir: data_dir.to_path_buf(),
            child,
            _stdout: stdout,
            log,
        }
    }

    /// What it logged to stderr so far.
    pub(crate) fn log(&self) -> String {
        self.log.lock().unwrap().clone()
    }

    /// Kills it with SIGKILL (no shutdown code runs) and waits until it is gone.
    pub(crate) fn kill9(mut self) {
        // On Unix, `Child::kill` sends SIGKILL.
        self.child.kill().expect("SIGKILL herald");
        let status = self.child.wait().unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::process::ExitStatusExt;
            assert_eq!(status.signal(), Some(9), "killed by SIGKILL, got {status}");
        }
        #[cfg(not(unix))]
        let _ = status;
    }

    /// An admin token minted by `herald token --admin --data-dir DIR`.
    pub(crate) fn admin_token(&self) -> String {
        mint_token(&self.data_dir, &["--admin"])
    }

    /// A client token minted by `herald token --account ID --data-dir DIR`.
    pub(crate) fn client_token(&self, account: &str) -> String {
        mint_token(&self.data_dir, &["--account", account])
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Runs `herald token ARGS --data-dir DATA_DIR` and returns the token it prints.
pub(crate) fn mint_token(data_dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new(herald_bin())
        .arg("token")
        .args(args)
        .arg("--data-dir")
        .arg(data_dir)
        .env_remove("HERALD_CONFIG")
        .env_remove("HERALD_APP_SECRET")
        .env_remove("HERALD_DATA_DIR")
        .output()
        .expect("run herald token");
    assert!(
        out.status.success(),
        "herald token {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// Builds a workspace crate as a WebAssembly component with
/// `$CARGO build -p <package> --target wasm32-wasip2 --profile plugin` (cargo has released
/// its lock by the time tests run) and returns the component's path.
pub(crate) fn build_component(package: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".to_owned());
    let status = std::process::Command::new(cargo)
        .current_dir(root)
        .args(["build", "--quiet", "-p", package])
        .args(["--target", "wasm32-wasip2", "--profile", "plugin"])
        .status()
        .expect("cargo runs");
    assert!(status.success(), "building {package} failed");
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"));
    let file = format!("{}.wasm", package.replace('-', "_"));
    let wasm = target.join("wasm32-wasip2/plugin").join(file);
    assert!(wasm.is_file(), "{} missing after the build", wasm.display());
    wasm
}
