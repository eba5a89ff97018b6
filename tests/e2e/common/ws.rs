//! A graphql-transport-ws client (the protocol of the npm `graphql-ws` package) for tests.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// How long a test waits for a message before it fails (a hang guard, not a measurement).
const WAIT: Duration = Duration::from_secs(20);

pub(crate) const INBOX: &str = "subscription($after: String) { inbox(after: $after) { id seq sender sentAt expiresAt body { ... on TextElement { text } } } }";

/// One WebSocket connection with one inbox subscription.
pub(crate) struct Inbox {
    ws: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl Inbox {
    /// Connects to `http_url`'s /graphql, authenticates with `token`, subscribes to the
    /// inbox from `after`.
    pub(crate) async fn open(http_url: &str, token: Option<&str>, after: Option<&str>) -> Inbox {
        Self::open_with_buffer(http_url, token, after, None).await
    }

    /// [`Inbox::open`] with a small socket receive buffer, so a client that stops reading
    /// soon stops the server from writing (a stuck phone on a bad network).
    pub(crate) async fn open_with_buffer(
        http_url: &str,
        token: Option<&str>,
        after: Option<&str>,
        recv_buffer: Option<u32>,
    ) -> Inbox {
        let url = format!("{}/graphql", http_url.replacen("http", "ws", 1));
        let mut request = url.into_client_request().unwrap();
        request.headers_mut().insert(
            "Sec-WebSocket-Protocol",
            "graphql-transport-ws".parse().unwrap(),
        );
        let addr: std::net::SocketAddr = http_url.trim_start_matches("http://").parse().unwrap();
        let socket = tokio::net::TcpSocket::new_v4().unwrap();
        if let Some(size) = recv_buffer {
            socket.set_recv_buffer_size(size).unwrap();
        }
        let stream = socket.connect(addr).await.unwrap();
        let (mut ws, _) = tokio_tungstenite::client_async(request, MaybeTlsStream::Plain(stream))
            .await
            .unwrap();
        let payload = match token {
            Some(t) => json!({"authorization": format!("Bearer {t}")}),
            None => json!({}),
        };
        let init = json!({"type": "connection_init", "payload": payload});
        ws.send(Message::text(init.to_string())).await.unwrap();
        let mut inbox = Inbox { ws };
        let ack = inbox.frame().await.expect("connection_ack");
        assert_eq!(ack["type"], "connection_ack", "{ack}");
        let subscribe = json!({
            "id": "1",
            "type": "subscribe",
            "payload": {"query": INBOX, "variables": {"after": after}},
        });
        inbox
            .ws
            .send(Message::text(subscribe.to_string()))
            .await
            .unwrap();
        inbox
    }

    /// The next protocol frame (answering pings), or `None` when the socket closed.
    async fn frame(&mut self) -> Option<Value> {
        loop {
            let msg = tokio::time::timeout(WAIT, self.ws.next())
                .await
                .expect("no WebSocket frame within the hang guard")?
                .ok()?;
            match msg {
                Message::Text(text) => {
                    let v: Value = serde_json::from_str(&text).unwrap();
                    if v["type"] == "ping" {
                        let pong = json!({"type": "pong"}).to_string();
                        self.ws.send(Message::text(pong)).await.unwrap();
                        continue;
                    }
                    return Some(v);
                }
                Message::Close(_) => return None,
                _ => continue,
            }
        }
    }

    /// The next inbox item's payload: `{"data": {"inbox": ...}}` or `{"errors": [...]}`;
    /// `{"complete": true}` when the subscription ended.
    pub(crate) async fn next(&mut self) -> Value {
        loop {
            let Some(frame) = self.frame().await else {
                return json!({"closed": true});
            };
            match frame["type"].as_str() {
                Some("next") => return frame["payload"].clone(),
                Some("error") => return json!({"errors": frame["payload"]}),
                Some("complete") => return json!({"complete": true}),
                _ => continue,
            }
        }
    }

    /// The next item's message text, failing on anything else.
    pub(crate) async fn text(&mut self) -> String {
        let item = self.next().await;
        item["data"]["inbox"]["body"][0]["text"]
            .as_str()
            .unwrap_or_else(|| panic!("expected an inbox message, got {item}"))
            .to_owned()
    }

    /// The next item, failing on anything but a message.
    pub(crate) async fn message(&mut self) -> Value {
        let item = self.next().await;
        assert!(
            item["data"]["inbox"].is_object(),
            "expected an inbox message, got {item}"
        );
        item["data"]["inbox"].clone()
    }
}
