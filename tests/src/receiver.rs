//! A webhook receiver for tests: a small HTTP/1.1 server on 127.0.0.1:0 that
//! records every request it gets and answers each one as its script says —
//! a status, a redirect, a hang, a huge or endless body, a cut connection —
//! so a test can play any consumer, well-behaved or not.
//!
//! It is written on plain tokio sockets rather than a web framework because
//! the misbehaviours (closing mid-exchange, bodies that never end) are what
//! frameworks take care to prevent. Every answer says `connection: close`:
//! one request per connection keeps the parsing trivial.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// Longest any streamed answer goes on, whatever the sender does.
const MAX_STREAM: Duration = Duration::from_secs(60);
/// Size of each piece of a streamed body.
const PIECE: usize = 64 * 1024;

/// How the receiver answers one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// This status with this body text.
    Status(u16, String),
    /// `302 Found` to this location.
    Redirect(String),
    /// Waits this long, then answers 200 (if the sender still listens).
    Hang(Duration),
    /// `200` with a body of this many bytes, announced in `content-length`.
    Huge(usize),
    /// `200` with a body that goes on until the sender leaves (or a minute).
    Endless,
    /// Closes the connection without answering.
    Close,
}

impl Reply {
    pub fn ok() -> Reply {
        Reply::Status(200, String::new())
    }

    pub fn status(code: u16) -> Reply {
        Reply::Status(code, String::new())
    }
}

/// One request as it arrived.
#[derive(Clone, Debug)]
pub struct Received {
    pub method: String,
    /// The request target, e.g. `/hook?x=1`.
    pub path: String,
    /// The same `HeaderMap` type `standardwebhooks` verifies.
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub at: Instant,
}

impl Received {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).expect("a JSON body")
    }
}

struct State {
    script: VecDeque<Reply>,
    then: Reply,
    received: Vec<Received>,
}

/// A running receiver; it stops when dropped.
pub struct Receiver {
    port: u16,
    state: Arc<Mutex<State>>,
    streamed: Arc<AtomicUsize>,
    accept: JoinHandle<()>,
}

impl Receiver {
    /// Answers 200 to everything.
    pub async fn start() -> Receiver {
        Self::scripted([], Reply::ok()).await
    }

    /// Answers the first requests with `script`, in order, and every later
    /// one with `then`.
    pub async fn scripted(script: impl IntoIterator<Item = Reply>, then: Reply) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind receiver");
        let port = listener.local_addr().expect("receiver address").port();
        let state = Arc::new(Mutex::new(State {
            script: script.into_iter().collect(),
            then,
            received: Vec::new(),
        }));
        let streamed = Arc::new(AtomicUsize::new(0));
        let (s, b) = (state.clone(), streamed.clone());
        let accept = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                tokio::spawn(serve(stream, s.clone(), b.clone()));
            }
        });
        Receiver {
            port,
            state,
            streamed,
            accept,
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port><path>`.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    /// Replaces what is left of the script.
    pub fn set_script(&self, script: impl IntoIterator<Item = Reply>, then: Reply) {
        let mut state = self.state.lock().unwrap();
        state.script = script.into_iter().collect();
        state.then = then;
    }

    /// Every request so far, in the order they arrived.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().unwrap().received.clone()
    }

    /// The requests so far to `path`.
    pub fn received_at(&self, path: &str) -> Vec<Received> {
        let mut all = self.received();
        all.retain(|r| r.path == path);
        all
    }

    /// Body bytes written by `Huge` and `Endless` answers, before the
    /// sender stopped reading.
    pub fn streamed_bytes(&self) -> usize {
        self.streamed.load(Ordering::SeqCst)
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

/// One connection: read one request, record it, answer as scripted.
async fn serve(mut stream: TcpStream, state: Arc<Mutex<State>>, streamed: Arc<AtomicUsize>) {
    let Some(request) = read_request(&mut stream).await else {
        return;
    };
    let reply = {
        let mut state = state.lock().unwrap();
        state.received.push(request);
        let next = state.script.pop_front();
        next.unwrap_or_else(|| state.then.clone())
    };
    // Write errors only mean the sender left, which is its right.
    let _ = match reply {
        Reply::Status(code, text) => answer(&mut stream, code, &[], text.as_bytes()).await,
        Reply::Redirect(to) => answer(&mut stream, 302, &[("location", &to)], b"").await,
        Reply::Hang(wait) => {
            tokio::time::sleep(wait).await;
            answer(&mut stream, 200, &[], b"").await
        }
        Reply::Huge(len) => stream_body(&mut stream, Some(len), &streamed).await,
        Reply::Endless => stream_body(&mut stream, None, &streamed).await,
        Reply::Close => Ok(()), // dropping the stream closes it
    };
}

/// Reads a request head and its `content-length` body; `None` when the
/// connection ends first or is not HTTP.
async fn read_request(stream: &mut TcpStream) -> Option<Received> {
    let mut buf = Vec::new();
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 64 * 1024 || !read_some(stream, &mut buf).await {
            return None;
        }
    };
    let at = Instant::now();
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let mut lines = head.split("\r\n");
    let mut request_line = lines.next()?.split(' ');
    let method = request_line.next()?.to_string();
    let path = request_line.next()?.to_string();
    let mut headers = HeaderMap::new();
    for line in lines {
        let (name, value) = line.split_once(':')?;
        headers.append(
            HeaderName::from_bytes(name.trim().as_bytes()).ok()?,
            HeaderValue::from_bytes(value.trim().as_bytes()).ok()?,
        );
    }
    let length: usize = headers
        .get("content-length")
        .and_then(|v| v.to_str().ok()?.parse().ok())
        .unwrap_or(0);
    let mut body = buf.split_off(head_end + 4);
    while body.len() < length {
        if !read_some(stream, &mut body).await {
            return None;
        }
    }
    body.truncate(length);
    Some(Received {
        method,
        path,
        headers,
        body,
        at,
    })
}

/// Appends what the socket has; false at its end or on an error.
async fn read_some(stream: &mut TcpStream, buf: &mut Vec<u8>) -> bool {
    let mut piece = [0u8; 8192];
    match stream.read(&mut piece).await {
        Ok(0) | Err(_) => false,
        Ok(n) => {
            buf.extend_from_slice(&piece[..n]);
            true
        }
    }
}

fn status_line(code: u16) -> String {
    let reason = reqwest::StatusCode::from_u16(code)
        .ok()
        .and_then(|s| s.canonical_reason())
        .unwrap_or("Status");
    format!("HTTP/1.1 {code} {reason}\r\nconnection: close\r\n")
}

async fn answer(
    stream: &mut TcpStream,
    code: u16,
    headers: &[(&str, &str)],
    body: &[u8],
) -> std::io::Result<()> {
    let mut head = status_line(code);
    for (name, value) in headers {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str(&format!(
        "content-type: text/plain\r\ncontent-length: {}\r\n\r\n",
        body.len()
    ));
    stream.write_all(head.as_bytes()).await?;
    stream.write_all(body).await?;
    stream.shutdown().await
}

/// A 200 whose body is `len` bytes (`None`: until the sender leaves),
/// counted into `streamed` as it goes.
async fn stream_body(
    stream: &mut TcpStream,
    len: Option<usize>,
    streamed: &AtomicUsize,
) -> std::io::Result<()> {
    let mut head = status_line(200);
    if let Some(len) = len {
        head.push_str(&format!("content-length: {len}\r\n"));
    }
    head.push_str("content-type: text/plain\r\n\r\n");
    stream.write_all(head.as_bytes()).await?;
    let piece = vec![b'x'; PIECE];
    let started = Instant::now();
    let mut left = len.unwrap_or(usize::MAX);
    while left > 0 && started.elapsed() < MAX_STREAM {
        let n = left.min(PIECE);
        stream.write_all(&piece[..n]).await?;
        streamed.fetch_add(n, Ordering::SeqCst);
        left -= n;
    }
    stream.shutdown().await
}
