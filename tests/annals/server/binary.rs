//! The real `annals serve` as a child process: started on a free port over a new store,
//! stopped with SIGTERM. Used by the logging test here and by the browser test.
use std::{
    io::{BufRead, BufReader, Read},
    net::TcpListener,
    path::Path,
    process::{Child, Command, ExitStatus, Stdio},
    sync::mpsc,
    time::{Duration, Instant},
};

/// A child process that is stopped when the test ends, however it ends.
pub struct Running(pub Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A port nobody listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

/// How a server ended.
pub struct Exited {
    /// Its exit status.
    pub status: ExitStatus,
    /// What it printed on standard output after it began listening.
    pub stdout: Vec<String>,
    /// Everything it logged on standard error.
    pub log: String,
}

/// A running `annals serve`.
pub struct Served {
    /// The process.
    pub process: Running,
    /// `http://127.0.0.1:PORT`.
    pub address: String,
    /// The admin token printed on first start.
    pub admin_token: String,
    /// What it prints on standard output after the line saying where it listens.
    stdout: mpsc::Receiver<String>,
    /// What it logs on standard error, in full once it has exited.
    stderr: Option<std::thread::JoinHandle<String>>,
}

/// Starts `annals --store STORE serve --listen 127.0.0.1:PORT ARGS…` with the given
/// `ANNALS_LOG` filter (none of the caller's `ANNALS_*` variables) and waits until it
/// listens.
pub fn serve(store: &Path, args: &[&str], log: &str) -> Served {
    let port = free_port();
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_annals"));
    for (var, _) in std::env::vars_os() {
        if var.to_string_lossy().starts_with("ANNALS_") {
            cmd.env_remove(var);
        }
    }
    let child = cmd
        .env("ANNALS_LOG", log)
        .env("NO_COLOR", "1")
        .arg("--store")
        .arg(store)
        .args(["serve", "--listen"])
        .arg(format!("127.0.0.1:{port}"))
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("the annals binary starts");
    let mut process = Running(child);
    let out = process.0.stdout.take().expect("its output");
    let mut err = process.0.stderr.take().expect("its log");
    let stderr = std::thread::spawn(move || {
        let mut text = String::new();
        let _ = err.read_to_string(&mut text);
        text
    });
    let (tx, stdout) = mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let mut printed = Vec::new();
    loop {
        let line = stdout
            .recv_timeout(Duration::from_secs(30))
            .unwrap_or_else(|_| panic!("annals serve said where it listens: {printed:#?}"));
        assert!(
            !line.contains("ann_"),
            "a token is never printed where the output is not a terminal: {line}"
        );
        let listening = line.contains("http://");
        printed.push(line);
        if listening {
            break;
        }
    }
    let admin_token = std::fs::read_to_string(admin_token_file(store))
        .unwrap_or_else(|e| {
            panic!("the first start wrote its admin token to a file ({e}): {printed:#?}")
        })
        .trim()
        .to_owned();
    Served {
        process,
        address: format!("http://127.0.0.1:{port}"),
        admin_token,
        stdout,
        stderr: Some(stderr),
    }
}

/// Where the first start of a server over `store` writes its admin token.
pub fn admin_token_file(store: &Path) -> std::path::PathBuf {
    let mut name = store.as_os_str().to_owned();
    name.push(".admin-token");
    name.into()
}

impl Served {
    /// Sends SIGTERM and waits (at most 15 s) for the process to exit.
    pub async fn terminate(mut self) -> Exited {
        let pid = self.process.0.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status();
        assert!(sent.is_ok_and(|s| s.success()), "SIGTERM was sent");
        let start = Instant::now();
        let status = loop {
            if let Some(status) = self.process.0.try_wait().expect("the server's status") {
                break status;
            }
            assert!(
                start.elapsed() < Duration::from_secs(15),
                "annals serve stops within 15 s of SIGTERM"
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        };
        let log = self
            .stderr
            .take()
            .expect("the log reader")
            .join()
            .expect("the log is read");
        Exited {
            status,
            // The process is gone, so its output ends: this reads up to that end.
            stdout: std::iter::from_fn(|| self.stdout.recv_timeout(Duration::from_secs(5)).ok())
                .collect(),
            log,
        }
    }
}
