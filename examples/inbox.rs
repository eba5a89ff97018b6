//! A minimal inbox client: subscribes to one account's inbox over WebSocket and prints each
//! message as it arrives.
//!
//! ```sh
//! cargo run --example inbox -- --url http://127.0.0.1:8080 --token <client token> [--after SEQ] [--ack]
//! ```
//!
//! - The subscription speaks graphql-transport-ws (the protocol of the npm `graphql-ws`
//!   client); the client token goes in the `connection_init` payload.
//! - First come the live pushes the account has not acknowledged (or those after `--after`),
//!   oldest first, then new pushes as they are sent.
//! - With `--ack`, each message is acknowledged (`ackInbox` over HTTP) once printed, so the
//!   next run of the client starts after it.
//! - When the connection drops, the client subscribes again after the last message it
//!   printed, so nothing is lost or printed twice. Ctrl-C stops it.

use std::time::Duration;

use anyhow::{Context as _, bail};
use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

/// What the client asks for each message. Every element type is listed so none prints empty.
const INBOX: &str = r#"subscription($after: String) {
  inbox(after: $after) {
    id seq sender sentAt expiresAt
    body {
      __typename
      ... on TextElement { text }
      ... on CustomElement { data desc ext }
      ... on FaceElement { index faceData: data }
      ... on LocationElement { desc latitude longitude }
      ... on ImageElement { format infos { type url } }
      ... on SoundElement { url seconds }
      ... on FileElement { url name size }
      ... on VideoElement { videoUrl videoSeconds thumbUrl }
    }
  }
}"#;

const ACK: &str = "mutation($through: String!) { ackInbox(through: $through) { through } }";

const USAGE: &str =
    "usage: inbox --url http://127.0.0.1:8080 --token <client token> [--after SEQ] [--ack]";

/// Command-line options.
struct Options {
    url: String,
    token: String,
    after: Option<String>,
    ack: bool,
}

fn parse_args() -> anyhow::Result<Options> {
    let mut url = "http://127.0.0.1:8080".to_owned();
    let mut token = std::env::var("HERALD_TOKEN").ok();
    let mut after = None;
    let mut ack = false;
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || {
            args.next()
                .with_context(|| format!("{arg} needs a value\n{USAGE}"))
        };
        match arg.as_str() {
            "--url" => url = value()?,
            "--token" => token = Some(value()?),
            "--after" => after = Some(value()?),
            "--ack" => ack = true,
            "-h" | "--help" => {
                println!("{USAGE}");
                std::process::exit(0);
            }
            other => bail!("unknown argument {other:?}\n{USAGE}"),
        }
    }
    let token = token.with_context(|| format!("--token is required\n{USAGE}"))?;
    Ok(Options {
        url: url.trim_end_matches('/').to_owned(),
        token,
        after,
        ack,
    })
}

/// How a session ended.
enum End {
    /// Ctrl-C: stop.
    Stopped,
    /// The connection dropped or the server ended the subscription: subscribe again.
    Lost(String),
    /// The server refused the subscription (a bad token, a bad `--after`): stop.
    Refused(String),
}

fn main() -> std::process::ExitCode {
    match run() {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}

#[tokio::main]
async fn run() -> anyhow::Result<()> {
    let mut opts = parse_args()?;
    let http = reqwest::Client::new();
    // Ctrl-C flips this once; every wait below also watches it.
    let (stop_tx, mut stop) = tokio::sync::watch::channel(false);
    tokio::spawn(async move {
        let _ = tokio::signal::ctrl_c().await;
        let _ = stop_tx.send(true);
    });
    let mut backoff = Duration::from_secs(1);
    let mut connected_once = false;
    loop {
        match session(&mut opts, &http, &mut stop, &mut connected_once).await {
            Ok(End::Stopped) => return Ok(()),
            Ok(End::Refused(why)) => bail!("the server refused the subscription: {why}"),
            Ok(End::Lost(why)) => eprintln!("-- {why}; subscribing again in {backoff:?}"),
            // Before the first success, a failure is most likely a wrong URL: say so and stop.
            Err(e) if !connected_once => return Err(e),
            Err(e) => eprintln!("-- {e:#}; retrying in {backoff:?}"),
        }
        tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => return Ok(()),
            () = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(Duration::from_secs(30));
    }
}

/// One WebSocket connection with one inbox subscription, until it ends.
async fn session(
    opts: &mut Options,
    http: &reqwest::Client,
    stop: &mut tokio::sync::watch::Receiver<bool>,
    connected_once: &mut bool,
) -> anyhow::Result<End> {
    // http://host/graphql -> ws://host/graphql, announcing the graphql-transport-ws protocol.
    let ws_url = match opts.url.strip_prefix("http") {
        Some(rest) => format!("ws{rest}/graphql"),
        None => bail!("--url must start with http:// (got {})", opts.url),
    };
    let mut request = ws_url.as_str().into_client_request()?;
    request.headers_mut().insert(
        "Sec-WebSocket-Protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(request)
        .await
        .with_context(|| format!("cannot connect to {ws_url}"))?;

    // 1. connection_init with the token, answered by connection_ack.
    let init = json!({
        "type": "connection_init",
        "payload": { "authorization": format!("Bearer {}", opts.token) },
    });
    ws.send(Message::text(init.to_string())).await?;
    // 2. The subscription. Without `after`, the server starts after the account's cursor.
    let subscribe = json!({
        "id": "inbox",
        "type": "subscribe",
        "payload": { "query": INBOX, "variables": { "after": opts.after } },
    });
    let mut subscribed = false;

    loop {
        let frame = tokio::select! {
            _ = stop.wait_for(|stopped| *stopped) => {
                // Say goodbye properly: end the subscription, then close the socket.
                let complete = json!({"id": "inbox", "type": "complete"});
                let _ = ws.send(Message::text(complete.to_string())).await;
                let _ = ws.close(None).await;
                eprintln!("-- stopped");
                return Ok(End::Stopped);
            }
            frame = ws.next() => frame,
        };
        let text = match frame {
            Some(Ok(Message::Text(text))) => text,
            Some(Ok(Message::Close(reason))) => {
                let why = reason.map_or("no reason".into(), |r| r.reason.to_string());
                return Ok(End::Lost(format!(
                    "the server closed the connection ({why})"
                )));
            }
            Some(Ok(_)) => continue, // WebSocket pings are answered by tungstenite itself
            Some(Err(e)) => return Ok(End::Lost(format!("connection lost: {e}"))),
            None => return Ok(End::Lost("connection lost".into())),
        };
        let frame: Value = serde_json::from_str(&text)?;
        match frame["type"].as_str().unwrap_or_default() {
            "connection_ack" => {
                ws.send(Message::text(subscribe.to_string())).await?;
                subscribed = true;
                *connected_once = true;
                let from = opts.after.as_deref().unwrap_or("the acknowledged cursor");
                eprintln!("-- connected to {ws_url}, inbox after {from}; Ctrl-C to stop");
            }
            "ping" => {
                ws.send(Message::text(json!({"type": "pong"}).to_string()))
                    .await?;
            }
            "next" => {
                let payload = &frame["payload"];
                if let Some(errors) = payload.get("errors") {
                    // E.g. LIMIT_EXCEEDED: this client fell too far behind. Subscribing
                    // again catches up; anything else (a bad token) is for the user.
                    if error_code(errors) == Some("LIMIT_EXCEEDED") {
                        return Ok(End::Lost(error_text(errors)));
                    }
                    return Ok(End::Refused(error_text(errors)));
                }
                let message = &payload["data"]["inbox"];
                print_message(message);
                let seq = message["seq"].as_str().unwrap_or_default().to_owned();
                if opts.ack {
                    ack(http, opts, &seq).await;
                }
                // Reconnects continue after the last message printed.
                opts.after = Some(seq);
            }
            "error" => return Ok(End::Refused(error_text(&frame["payload"]))),
            "complete" => return Ok(End::Lost("the server ended the subscription".into())),
            other if !subscribed => bail!("expected connection_ack, got {other:?}: {text}"),
            _ => {}
        }
    }
}

/// Prints one inbox message: a header line, then one line per element.
fn print_message(m: &Value) {
    let s = |v: &Value| v.as_str().unwrap_or_default().to_owned();
    println!(
        "#{}  {}  from {}  (id {}, expires {})",
        s(&m["seq"]),
        s(&m["sentAt"]),
        s(&m["sender"]),
        s(&m["id"]),
        s(&m["expiresAt"]),
    );
    for element in m["body"].as_array().into_iter().flatten() {
        let line = match element["__typename"].as_str() {
            Some("TextElement") => s(&element["text"]),
            Some("CustomElement") => {
                format!("[custom] data={} desc={}", element["data"], element["desc"])
            }
            // Other elements: their fields as JSON.
            Some(kind) => {
                let mut fields = element.clone();
                if let Some(obj) = fields.as_object_mut() {
                    obj.remove("__typename");
                }
                format!(
                    "[{}] {fields}",
                    kind.trim_end_matches("Element").to_lowercase()
                )
            }
            None => element.to_string(),
        };
        println!("    {line}");
    }
}

/// Acknowledges the inbox through `seq`; a failure is reported, not fatal.
async fn ack(http: &reqwest::Client, opts: &Options, seq: &str) {
    let answer = http
        .post(format!("{}/graphql", opts.url))
        .bearer_auth(&opts.token)
        .json(&json!({ "query": ACK, "variables": { "through": seq } }))
        .send()
        .await;
    let body: anyhow::Result<Value> = match answer {
        Ok(response) => response.json().await.map_err(Into::into),
        Err(e) => Err(e.into()),
    };
    match body {
        Ok(body) if body["errors"].is_array() => {
            eprintln!("-- ack {seq} failed: {}", error_text(&body["errors"]));
        }
        Ok(_) => {}
        Err(e) => eprintln!("-- ack {seq} failed: {e:#}"),
    }
}

/// The `extensions.code` of the first GraphQL error.
fn error_code(errors: &Value) -> Option<&str> {
    errors[0]["extensions"]["code"].as_str()
}

/// `CODE: message` of each GraphQL error.
fn error_text(errors: &Value) -> String {
    let Some(list) = errors.as_array() else {
        return errors.to_string();
    };
    list.iter()
        .map(|e| {
            let code = e["extensions"]["code"].as_str().unwrap_or("ERROR");
            format!("{code}: {}", e["message"].as_str().unwrap_or_default())
        })
        .collect::<Vec<_>>()
        .join("; ")
}
