//! A throw-away PostgreSQL for the hub's tests: once per test binary, `initdb` into a
//! folder under `target/tmp` and `pg_ctl start` on a free loopback port (no Unix
//! socket, fsync off: the tests kill the hub, not the database). As root, where
//! PostgreSQL refuses to run, it runs as the `postgres` user through `runuser`, in a
//! folder under the system's temporary folder (which that user can reach).
//!
//! Nothing is left running: a watchdog in a session of its own stops the server and
//! removes its folder once this test process has gone, however it ended (a SIGKILL
//! included), and a start first clears servers left by test runs that are gone.
//! With `ANNALS_TEST_DATABASE` set (a libpq string to a server where its user may
//! create databases), that server is used instead.
use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::{
        atomic::{AtomicU32, Ordering},
        OnceLock,
    },
};

/// The server: a libpq string without the database name.
struct Server {
    base: String,
}

static SERVER: OnceLock<Server> = OnceLock::new();
static NEXT: AtomicU32 = AtomicU32::new(0);

/// A fresh, empty database for one test: its libpq connection string.
pub async fn database() -> String {
    let server = SERVER.get_or_init(start);
    let name = format!(
        "hub_{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::Relaxed)
    );
    let (client, conn) = tokio_postgres::connect(
        &format!("{} dbname=postgres", server.base),
        tokio_postgres::NoTls,
    )
    .await
    .expect("the test PostgreSQL accepts connections");
    let task = tokio::spawn(conn);
    client
        .batch_execute(&format!("CREATE DATABASE {name}"))
        .await
        .expect("a test database is created");
    drop(client);
    let _ = task.await;
    let db = format!("{} dbname={name}", server.base);
    let _ = std::fs::remove_file(key_file(&db));
    db
}

/// Where the hub over `db` keeps its signing key: a file per database under the
/// tests' own temporary folder.
pub fn key_file(db: &str) -> std::path::PathBuf {
    let folder = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("hub-keys");
    std::fs::create_dir_all(&folder).expect("the keys' folder");
    let name = db.rsplit("dbname=").next().unwrap_or(db);
    folder.join(format!("{name}.key"))
}

fn start() -> Server {
    if let Ok(base) = std::env::var("ANNALS_TEST_DATABASE") {
        return Server { base };
    }
    let as_root = is_root();
    let root = if as_root {
        // `postgres` must reach its folder, and a clone under /root is closed to it.
        let root = std::env::temp_dir().join("annals-hub-pg");
        std::fs::create_dir_all(&root).expect("the PostgreSQL folders' parent");
        std::fs::set_permissions(&root, std::os::unix::fs::PermissionsExt::from_mode(0o755))
            .expect("open to postgres");
        root
    } else {
        PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
    };
    clear_stale(&root);
    let dir = root.join(format!("hub-pg-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("the PostgreSQL folder is made");
    std::fs::write(dir.join("owner.pid"), std::process::id().to_string()).expect("owner noted");
    let data = dir.join("data");
    if as_root {
        // PostgreSQL runs as `postgres`: it owns its folder.
        run(Command::new("chown")
            .args(["-R", "postgres:postgres"])
            .arg(&dir));
    }
    let bin = bin_dir();
    run(pg(as_root, &bin, "initdb")
        .args([
            "-U",
            "annals",
            "-A",
            "trust",
            "-E",
            "UTF8",
            "--locale=C",
            "--no-sync",
            "-D",
        ])
        .arg(&data));
    let port = free_port();
    let options = format!(
        "-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories= -c fsync=off \
         -c synchronous_commit=off -c full_page_writes=off -c max_connections=400"
    );
    run(pg(as_root, &bin, "pg_ctl")
        .arg("-D")
        .arg(&data)
        .arg("-l")
        .arg(dir.join("server.log"))
        .args(["-o", &options, "-w", "start"]));
    watch(as_root, &bin, &dir);
    Server {
        base: format!("host=127.0.0.1 port={port} user=annals"),
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

/// Where `initdb` and `pg_ctl` are: on the PATH, or Debian's folder for them.
fn bin_dir() -> PathBuf {
    if Command::new("initdb")
        .arg("--version")
        .output()
        .is_ok_and(|o| o.status.success())
    {
        return PathBuf::new();
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .expect(
            "PostgreSQL is installed (.ci/run installs postgresql-15), or set ANNALS_TEST_DATABASE",
        )
        .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
        .filter(|p| p.join("initdb").exists())
        .collect();
    found.sort();
    found
        .pop()
        .expect("a PostgreSQL with initdb under /usr/lib/postgresql")
}

/// A PostgreSQL program, run as `postgres` when we are root.
fn pg(as_root: bool, bin: &Path, program: &str) -> Command {
    let program = bin.join(program);
    let mut c = if as_root {
        let mut c = Command::new("runuser");
        c.args(["-u", "postgres", "--"]).arg(program);
        c
    } else {
        Command::new(program)
    };
    // Somewhere `postgres` may stand (not a folder closed to it).
    c.current_dir(std::env::temp_dir());
    c
}

fn run(c: &mut Command) {
    let out = c
        .output()
        .unwrap_or_else(|e| panic!("{c:?} could not start: {e}"));
    assert!(
        out.status.success(),
        "{c:?} failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn free_port() -> u16 {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    l.local_addr().expect("its address").port()
}

/// The shell line that stops the server in `dir` and removes the folder.
fn stop_line(as_root: bool, bin: &Path, dir: &Path) -> String {
    let ctl = bin.join("pg_ctl");
    let ctl = if as_root {
        format!("runuser -u postgres -- {}", ctl.display())
    } else {
        ctl.display().to_string()
    };
    format!(
        "{ctl} -D '{d}/data' -m immediate stop >/dev/null 2>&1; rm -rf '{d}'",
        d = dir.display()
    )
}

/// Stops the server once this process is gone, from a session of its own so that
/// whatever ends the tests does not end it first.
fn watch(as_root: bool, bin: &Path, dir: &Path) {
    let line = format!(
        "while kill -0 {pid} 2>/dev/null; do sleep 0.5; done; {stop}",
        pid = std::process::id(),
        stop = stop_line(as_root, bin, dir)
    );
    // `setsid --fork` returns at once, leaving the watchdog to run on its own.
    let started = Command::new("setsid")
        .args(["--fork", "sh", "-c", &line])
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .status()
        .expect("the watchdog starts");
    assert!(started.success(), "the watchdog starts");
}

/// Stops servers whose test process is gone (a watchdog that was itself killed).
fn clear_stale(root: &Path) {
    let Ok(entries) = std::fs::read_dir(root) else {
        return;
    };
    for entry in entries.flatten() {
        let dir = entry.path();
        if !entry.file_name().to_string_lossy().starts_with("hub-pg-") {
            continue;
        }
        let owner = std::fs::read_to_string(dir.join("owner.pid")).unwrap_or_default();
        let alive = !owner.trim().is_empty() && Path::new("/proc").join(owner.trim()).exists();
        if !alive {
            let line = stop_line(is_root(), &bin_dir(), &dir);
            let _ = Command::new("sh").args(["-c", &line]).status();
        }
    }
}
