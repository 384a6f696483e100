//! The server as a real OS process (`serve`), for tests that need what an
//! in-process server cannot give: SIGKILL, SIGTERM, several processes.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use crate::{TEST_AUDIENCE, TEST_CREDENTIALS_KEY, TEST_ISSUER, TEST_JWT_SECRET};

/// A running `serve` process; killed when dropped.
pub struct ServerProcess {
    child: Child,
    pub address: String,
    /// Every line the process printed on stdout (its log, with `LOG_FORMAT=json`).
    output: Arc<Mutex<Vec<String>>>,
}

impl ServerProcess {
    /// Starts `binary serve` on `database_url` with the test secrets (so tokens
    /// the harness issues are valid) and waits for it to listen.
    pub fn start(binary: &str, database_url: &str) -> ServerProcess {
        Self::start_with(binary, database_url, &[])
    }

    /// [`Self::start`] with more environment (later values win).
    pub fn start_with(binary: &str, database_url: &str, env: &[(&str, &str)]) -> ServerProcess {
        let mut command = Command::new(binary);
        command
            .arg("serve")
            .env("DATABASE_URL", database_url)
            .env("BIND", "127.0.0.1:0")
            .env("JWT_SECRET", TEST_JWT_SECRET)
            .env("JWT_ISSUER", TEST_ISSUER)
            .env("JWT_AUDIENCE", TEST_AUDIENCE)
            .env("CREDENTIALS_KEY", TEST_CREDENTIALS_KEY)
            .env("DB_MAX_CONNECTIONS", "5")
            .env("CLAIM_BACKDATE_DAYS", "3650")
            .env("LOG_FORMAT", "json")
            .env("RUST_LOG", "warn")
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        command.envs(env.iter().copied());
        let mut child = command.spawn().expect("start the server process");
        let stdout = child.stdout.take().expect("piped stdout");
        let (tx, rx) = mpsc::channel();
        let output = Arc::new(Mutex::new(Vec::new()));
        let kept = output.clone();
        // Reads the announced address, then keeps draining (and keeping) the
        // output so the pipe never fills.
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("Console: ") {
                    let _ = tx.send(rest.trim_end_matches("/console/").to_string());
                }
                kept.lock().unwrap().push(line);
            }
        });
        let address = rx
            .recv_timeout(Duration::from_secs(60))
            .expect("the server announced its address");
        ServerProcess {
            child,
            address,
            output,
        }
    }

    /// The lines printed on stdout so far.
    pub fn output(&self) -> Vec<String> {
        self.output.lock().unwrap().clone()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no chance to finish anything.
    pub fn kill(&mut self) {
        self.signal("KILL");
        let _ = self.child.wait();
    }

    /// Sends a signal by name (`TERM`, `KILL`, ...).
    pub fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid().to_string())
            .status()
            .expect("run kill");
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the process to exit, up to `limit`.
    pub fn wait_for_exit(&mut self, limit: Duration) -> Option<ExitStatus> {
        let deadline = std::time::Instant::now() + limit;
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            if std::time::Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for ServerProcess {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
