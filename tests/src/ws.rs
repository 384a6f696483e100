//! A `graphql-transport-ws` client for tests: a real WebSocket to
//! `/graphql/ws`, speaking the protocol message by message.

use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use serde_json::{json, Value};
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::http::HeaderValue;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};

/// What the server sent next.
#[derive(Debug, Clone, PartialEq)]
pub enum Received {
    /// A protocol message.
    Message(Value),
    /// The socket was closed with this code and reason.
    Closed(u16, String),
    /// Nothing within the wait.
    Nothing,
}

pub struct WsClient {
    socket: WebSocketStream<MaybeTlsStream<TcpStream>>,
}

impl WsClient {
    /// Opens `/graphql/ws` on a server address like `http://127.0.0.1:1234`.
    pub async fn connect(address: &str) -> WsClient {
        let url = format!("{}/graphql/ws", address.replacen("http", "ws", 1));
        let mut request = url.into_client_request().expect("a WebSocket URL");
        request.headers_mut().insert(
            "sec-websocket-protocol",
            HeaderValue::from_static("graphql-transport-ws"),
        );
        let (socket, response) = tokio_tungstenite::connect_async(request)
            .await
            .expect("the WebSocket opens");
        assert_eq!(
            response.headers()["sec-websocket-protocol"],
            "graphql-transport-ws"
        );
        WsClient { socket }
    }

    /// Opens a socket and completes `connection_init` with the token.
    pub async fn connected(address: &str, token: &str) -> WsClient {
        let mut ws = WsClient::connect(address).await;
        ws.send(json!({ "type": "connection_init", "payload": { "authorization": format!("Bearer {token}") } }))
            .await;
        let ack = ws.receive(Duration::from_secs(5)).await;
        assert_eq!(
            ack,
            Received::Message(json!({ "type": "connection_ack" })),
            "connection_ack"
        );
        ws
    }

    pub async fn send(&mut self, message: Value) {
        self.socket
            .send(Message::Text(message.to_string().into()))
            .await
            .expect("sent");
    }

    /// Sends raw frame text (for malformed messages).
    pub async fn send_raw(&mut self, frame: Message) {
        let _ = self.socket.send(frame).await;
    }

    pub async fn subscribe(&mut self, id: &str, query: &str, variables: Value) {
        self.send(json!({ "type": "subscribe", "id": id, "payload": { "query": query, "variables": variables } }))
            .await;
    }

    /// The next protocol message or close, waiting at most `wait`.
    pub async fn receive(&mut self, wait: Duration) -> Received {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let frame = match tokio::time::timeout_at(deadline, self.socket.next()).await {
                Err(_) => return Received::Nothing,
                Ok(None) => return Received::Closed(1006, "ended without a close frame".into()),
                Ok(Some(Err(e))) => return Received::Closed(1006, e.to_string()),
                Ok(Some(Ok(frame))) => frame,
            };
            match frame {
                Message::Text(text) => {
                    return Received::Message(serde_json::from_str(&text).expect("JSON message"))
                }
                Message::Close(frame) => {
                    return match frame {
                        Some(f) => Received::Closed(f.code.into(), f.reason.to_string()),
                        None => Received::Closed(1005, String::new()),
                    }
                }
                // Transport pings and pongs carry no protocol message.
                _ => continue,
            }
        }
    }

    /// The next `next` message's payload for subscription `id`, skipping
    /// nothing else silently: any other message fails the test.
    pub async fn next_payload(&mut self, id: &str, wait: Duration) -> Option<Value> {
        match self.receive(wait).await {
            Received::Message(m) if m["type"] == "next" && m["id"] == id => {
                Some(m["payload"].clone())
            }
            Received::Nothing => None,
            other => panic!("expected a next message for {id}, got {other:?}"),
        }
    }
}
