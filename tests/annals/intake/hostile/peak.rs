//! Peak resident memory as the kernel counts it: a process's high-water mark, `VmHWM`
//! in `/proc/PID/status`. (A child's `ru_maxrss` from `wait4` would not do: it counts
//! the memory of the test process it was forked from, up to its `exec`.)
use std::{
    fs::File,
    path::Path,
    process::{Command, ExitStatus, Stdio},
    time::Duration,
};

/// The most resident memory process `pid` has had, in KiB; `None` once it has exited.
pub fn high_water_kib(pid: u32) -> Option<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
}

/// How a measured command ended.
pub struct Measured {
    pub status: ExitStatus,
    /// Its peak resident memory, in KiB, as last read before it exited.
    pub peak_kib: u64,
    pub stderr: String,
}

/// Runs `cmd` to its end, its output in files in `dir`, reading its high-water mark
/// every millisecond while it runs. The mark only rises, so the last reading is its
/// peak but for what it took in its last millisecond.
pub fn run(cmd: &mut Command, dir: &Path) -> Measured {
    let err = dir.join("stderr");
    cmd.stdout(Stdio::from(File::create(dir.join("stdout")).unwrap()))
        .stderr(Stdio::from(File::create(&err).unwrap()));
    let mut child = cmd.spawn().expect("the command starts");
    let mut peak_kib = 0;
    let status = loop {
        // Read before asking whether it ended: a process that has ended has no mark.
        if let Some(kib) = high_water_kib(child.id()) {
            peak_kib = peak_kib.max(kib);
        }
        if let Some(status) = child.try_wait().expect("its status") {
            break status;
        }
        std::thread::sleep(Duration::from_millis(1));
    };
    Measured {
        status,
        peak_kib,
        stderr: std::fs::read_to_string(err).unwrap(),
    }
}
