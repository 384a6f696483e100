//! Closed-loop load: each client sends its next request as soon as the
//! previous one answers.

use std::sync::Arc;
use std::time::{Duration, Instant};

/// One request the clients cycle through.
#[derive(Clone)]
pub enum Call {
    Post {
        url: String,
        body: serde_json::Value,
    },
    Get {
        url: String,
    },
}

pub struct Outcome {
    pub requests: usize,
    pub errors: usize,
    pub elapsed: Duration,
    /// Latencies in microseconds, sorted.
    pub latencies: Vec<u64>,
}

impl Outcome {
    pub fn per_second(&self) -> f64 {
        self.requests as f64 / self.elapsed.as_secs_f64()
    }

    /// The latency at quantile `q` (0..=1), in milliseconds.
    pub fn quantile_ms(&self, q: f64) -> f64 {
        if self.latencies.is_empty() {
            return 0.0;
        }
        let i = ((self.latencies.len() as f64 - 1.0) * q).round() as usize;
        self.latencies[i] as f64 / 1000.0
    }
}

/// Sends one call; true when it answered 2xx without GraphQL errors.
pub async fn send(client: &reqwest::Client, call: &Call, token: &str) -> bool {
    let req = match call {
        Call::Post { url, body } => client.post(url).json(body),
        Call::Get { url } => client.get(url),
    };
    match req.bearer_auth(token).send().await {
        Ok(res) if res.status().is_success() => match res.bytes().await {
            // A GraphQL error still answers 200; its body names `errors`.
            Ok(body) => !body.windows(9).any(|w| w == b"\"errors\":"),
            Err(_) => false,
        },
        _ => false,
    }
}

/// Runs `clients` closed loops over `calls` for `duration`.
pub async fn run(
    calls: Arc<Vec<Call>>,
    token: Arc<String>,
    clients: usize,
    duration: Duration,
) -> Outcome {
    let started = Instant::now();
    let deadline = started + duration;
    let tasks: Vec<_> = (0..clients)
        .map(|c| {
            let (calls, token) = (calls.clone(), token.clone());
            tokio::spawn(async move {
                let client = reqwest::Client::new();
                let mut latencies = Vec::new();
                let mut errors = 0;
                let mut i = c;
                while Instant::now() < deadline {
                    let t = Instant::now();
                    if !send(&client, &calls[i % calls.len()], &token).await {
                        errors += 1;
                    }
                    latencies.push(t.elapsed().as_micros() as u64);
                    i += 1;
                }
                (latencies, errors)
            })
        })
        .collect();
    let mut latencies = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (l, e) = t.await.expect("client task");
        latencies.extend(l);
        errors += e;
    }
    let elapsed = started.elapsed();
    latencies.sort_unstable();
    Outcome {
        requests: latencies.len(),
        errors,
        elapsed,
        latencies,
    }
}
