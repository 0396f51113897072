//! Child processes that never outlive the benchmark: killed when their
//! handle is dropped (an error, Ctrl-C), and sent SIGTERM by the kernel if
//! the benchmark itself dies (`PR_SET_PDEATHSIG`).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use tokio::process::{Child, Command};

/// A command for a child process of the benchmark. The gateway's own
/// `GATEWAY_*` settings from the caller's environment are removed (except
/// logging), so a stray `GATEWAY_CONFIG` cannot change what is measured.
pub fn command(program: &Path) -> Command {
    let mut cmd = Command::new(program);
    cmd.kill_on_drop(true);
    for (name, _) in std::env::vars_os() {
        let name = name.to_string_lossy();
        if name.starts_with("GATEWAY_") && !name.starts_with("GATEWAY_LOG") {
            cmd.env_remove(name.as_ref());
        }
    }
    #[cfg(target_os = "linux")]
    // SAFETY: prctl is async-signal-safe and touches no memory of the parent.
    unsafe {
        cmd.pre_exec(|| {
            if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGTERM) == -1 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
    cmd
}

/// Sends SIGTERM to a whole process group when dropped, unless disarmed.
#[derive(Debug)]
pub struct GroupGuard(Option<i32>);

impl GroupGuard {
    /// Guard the group led by `pid` (a child started with `process_group(0)`).
    pub fn new(pid: Option<u32>) -> GroupGuard {
        GroupGuard(pid.and_then(|p| i32::try_from(p).ok()))
    }

    /// The group is done (its leader was reaped): nothing to stop.
    pub fn disarm(&mut self) {
        self.0 = None;
    }
}

impl Drop for GroupGuard {
    fn drop(&mut self) {
        if let Some(pgid) = self.0 {
            // SAFETY: a plain syscall with no memory access; the leader is
            // not reaped yet, so the group id is still ours.
            unsafe {
                libc::killpg(pgid, libc::SIGTERM);
            }
        }
    }
}

/// A server running as a child process, its output going to a log file.
#[derive(Debug)]
pub struct Server {
    pub name: String,
    pub pid: u32,
    /// `http://127.0.0.1:PORT`.
    pub base: String,
    pub log: PathBuf,
    child: Child,
}

/// The address in a `listening on ADDR` line, which the gateway and the
/// reference both print once they accept connections.
pub fn listening_address(log: &str) -> Option<std::net::SocketAddr> {
    log.lines()
        .find_map(|l| l.trim().strip_prefix("listening on "))
        .and_then(|a| a.trim().parse().ok())
}

impl Server {
    /// Start `cmd` with its output in `log`, and wait (up to `limit`) until
    /// it prints the address it listens on.
    pub async fn start(
        name: &str,
        mut cmd: Command,
        log: PathBuf,
        limit: Duration,
    ) -> anyhow::Result<Server> {
        let out = std::fs::File::create(&log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let err = out.try_clone()?;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::from(out))
            .stderr(Stdio::from(err));
        let mut child = cmd
            .spawn()
            .with_context(|| format!("cannot start the {name}"))?;
        let pid = child
            .id()
            .with_context(|| format!("the {name} exited at once"))?;
        let started = Instant::now();
        loop {
            let text = std::fs::read_to_string(&log).unwrap_or_default();
            if let Some(addr) = listening_address(&text) {
                return Ok(Server {
                    name: name.to_owned(),
                    pid,
                    base: format!("http://{addr}"),
                    log,
                    child,
                });
            }
            if let Some(status) = child.try_wait()? {
                bail!(
                    "the {name} exited ({status}) before listening; its output:\n{}",
                    tail(&text, 40)
                );
            }
            if started.elapsed() > limit {
                bail!(
                    "the {name} did not listen within {} s; its output:\n{}",
                    limit.as_secs(),
                    tail(&text, 40)
                );
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The last lines of the server's output, for error messages.
    pub fn log_tail(&self, lines: usize) -> String {
        tail(
            &std::fs::read_to_string(&self.log).unwrap_or_default(),
            lines,
        )
    }

    /// Whether the process is still running.
    pub fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// Ask the server to stop (SIGTERM, its graceful shutdown); kill it if
    /// it has not exited within ten seconds.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        // `id()` is `None` once the child has been reaped, so the pid signalled
        // is still our child's and cannot have been reused.
        if let Some(pid) = self.child.id().and_then(|p| i32::try_from(p).ok()) {
            // SAFETY: a plain syscall with no memory access.
            unsafe {
                libc::kill(pid, libc::SIGTERM);
            }
        }
        match tokio::time::timeout(Duration::from_secs(10), self.child.wait()).await {
            Ok(status) => {
                status?;
            }
            Err(_) => {
                self.child.kill().await?;
                bail!("the {} ignored SIGTERM for 10 s and was killed", self.name);
            }
        }
        Ok(())
    }
}

/// The last `lines` lines of `text`.
pub fn tail(text: &str, lines: usize) -> String {
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_listening_line_in_the_gateways_banner() {
        let banner = "\n  DigiLocker KYC gateway is running at http://127.0.0.1:41234\n  \
                      database: sqlite\n  listening on 127.0.0.1:41234\n\n";
        assert_eq!(listening_address(banner).map(|a| a.port()), Some(41234));
        assert_eq!(listening_address("starting\n"), None);
    }
}
