//! A server under measurement: a child process of this binary, with its CPU
//! time and peak memory read from /proc.

use std::io::{BufRead, BufReader};
use std::process::{Child, Command, Stdio};

pub struct Server {
    child: Child,
    pub base: String,
}

impl Server {
    /// Re-runs this binary with `subcommand` and waits for `LISTENING <port>`.
    pub fn start(subcommand: &str, database_url: &str, pool: u32) -> Server {
        let exe = std::env::current_exe().expect("own path");
        let mut child = Command::new(exe)
            .arg(subcommand)
            .arg("--database-url")
            .arg(database_url)
            .arg("--pool")
            .arg(pool.to_string())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("start server");
        let mut lines = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let port = loop {
            let line = lines
                .next()
                .expect("server printed its port")
                .expect("read stdout");
            if let Some(p) = line.strip_prefix("LISTENING ") {
                break p.trim().to_string();
            }
        };
        std::thread::spawn(move || for _ in lines {});
        Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        }
    }

    fn proc_file(&self, name: &str) -> String {
        std::fs::read_to_string(format!("/proc/{}/{name}", self.child.id())).unwrap_or_default()
    }

    /// User + system CPU time so far, in seconds.
    pub fn cpu_seconds(&self) -> f64 {
        let stat = self.proc_file("stat");
        // Fields after the parenthesised command name; utime and stime are
        // the 14th and 15th fields of the whole line.
        let rest = stat.rsplit_once(')').map(|(_, r)| r).unwrap_or("");
        let fields: Vec<&str> = rest.split_whitespace().collect();
        let ticks: f64 = fields
            .get(11..13)
            .map(|f| f.iter().filter_map(|v| v.parse::<f64>().ok()).sum())
            .unwrap_or(0.0);
        ticks / clock_ticks()
    }

    /// Peak resident memory (VmHWM), in MiB.
    pub fn peak_rss_mib(&self) -> f64 {
        self.status_mib("VmHWM:")
    }

    /// Resident memory now (VmRSS), in MiB.
    pub fn rss_mib(&self) -> f64 {
        self.status_mib("VmRSS:")
    }

    fn status_mib(&self, field: &str) -> f64 {
        self.proc_file("status")
            .lines()
            .find_map(|l| l.strip_prefix(field))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map(|kb| kb / 1024.0)
            .unwrap_or(0.0)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8(o.stdout).ok())
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(100.0)
}
