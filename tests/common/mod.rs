//! A real Herald server on 127.0.0.1:0 with a temporary data dir, and a GraphQL client.
#![allow(dead_code, unreachable_pub)]

pub mod ws;

use std::path::{Path, PathBuf};
use std::sync::Arc;

use herald::api::auth::Principal;
use herald::app::App;
use herald::config::Config;
use herald::time::ManualClock;
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// A server running in this process; stopped on `stop` or drop.
pub struct Server {
    pub url: String,
    pub app: Arc<App>,
    stop: Option<oneshot::Sender<()>>,
    task: Option<tokio::task::JoinHandle<()>>,
    http: reqwest::Client,
}

/// The config of a test server on `data_dir`.
pub fn config(data_dir: &Path) -> Config {
    Config {
        listen: "127.0.0.1:0".parse().unwrap(),
        data_dir: data_dir.to_path_buf(),
        ..Config::default()
    }
}

impl Server {
    /// Starts a server with the default config on `data_dir`.
    pub async fn start(data_dir: &Path) -> Server {
        Self::start_with(config(data_dir)).await
    }

    /// Starts a server with `config`.
    pub async fn start_with(config: Config) -> Server {
        Self::start_app(App::open(config).expect("open app"), None).await
    }

    /// Starts a server whose connections have a small kernel send buffer, as on a
    /// constrained network, so a client that stops reading soon blocks the server's writes.
    pub async fn start_with_send_buffer(config: Config, bytes: u32) -> Server {
        Self::start_app(App::open(config).expect("open app"), Some(bytes)).await
    }

    /// Starts a server whose clock only moves when the test says so.
    pub async fn start_with_clock(data_dir: &Path, clock: Arc<ManualClock>) -> Server {
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
            url,
            app,
            stop: Some(tx),
            task: Some(task),
            http: reqwest::Client::new(),
        }
    }

    /// Stops the server and waits until it has released the data dir.
    pub async fn stop(mut self) {
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

    pub fn admin_token(&self) -> String {
        self.app.keys.mint(&Principal::Admin, 3600)
    }

    pub fn client_token(&self, account: &str) -> String {
        self.app.keys.mint(&Principal::Client(account.into()), 3600)
    }

    /// POSTs a GraphQL request with an optional bearer token; returns the JSON body.
    pub async fn gql_as(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut req = self
            .http
            .post(format!("{}/graphql", self.url))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.unwrap().json().await.unwrap()
    }

    /// POSTs a GraphQL request as admin.
    pub async fn gql(&self, query: &str, variables: Value) -> Value {
        let token = self.admin_token();
        self.gql_as(Some(&token), query, variables).await
    }

    /// POSTs as admin and expects no error; returns `data`.
    pub async fn ok(&self, query: &str, variables: Value) -> Value {
        let body = self.gql(query, variables).await;
        assert!(body.get("errors").is_none(), "unexpected errors: {body}");
        body["data"].clone()
    }

    /// GETs a path and returns (status, body).
    pub async fn get(&self, path: &str) -> (u16, String) {
        let resp = self
            .http
            .get(format!("{}{path}", self.url))
            .send()
            .await
            .unwrap();
        (resp.status().as_u16(), resp.text().await.unwrap())
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }
}

/// The first error's `extensions.code`.
pub fn code(body: &Value) -> &str {
    body["errors"][0]["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("no error code in {body}"))
}

/// The path of the herald binary built by cargo for these tests.
pub fn herald_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_herald"))
}
