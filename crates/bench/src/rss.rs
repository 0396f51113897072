//! Peak resident memory of a process during one phase, from
//! `/proc/<pid>/status`.
//!
//! Before a phase the kernel's high-water mark (`VmHWM`) is reset by writing
//! `5` to `/proc/<pid>/clear_refs` (Linux 4.0+, our own children only); the
//! current `VmRSS` is also sampled every 50 ms, so the peak is known even
//! where the reset is not allowed.

use std::time::Duration;

use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// A field of `/proc/<pid>/status` in KiB, e.g. `VmHWM`.
pub fn status_kib(pid: u32, field: &str) -> Option<u64> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    parse_status_kib(&text, field)
}

/// The value of `field` (in kB, as the kernel writes it) in a status text.
pub fn parse_status_kib(status: &str, field: &str) -> Option<u64> {
    status.lines().find_map(|line| {
        let rest = line.strip_prefix(field)?.strip_prefix(':')?;
        rest.trim().strip_suffix("kB")?.trim().parse().ok()
    })
}

/// Reset the process's `VmHWM` to its current RSS; false where not allowed.
pub fn reset_peak(pid: u32) -> bool {
    std::fs::write(format!("/proc/{pid}/clear_refs"), "5").is_ok()
}

/// Watches one process's peak RSS from [`PeakWatch::start`] to
/// [`PeakWatch::finish`].
#[derive(Debug)]
pub struct PeakWatch {
    pid: u32,
    reset: bool,
    stop: oneshot::Sender<()>,
    sampler: JoinHandle<u64>,
}

impl PeakWatch {
    /// Reset the high-water mark and start sampling.
    pub fn start(pid: u32) -> PeakWatch {
        let reset = reset_peak(pid);
        let (stop, mut stopped) = oneshot::channel();
        let sampler = tokio::spawn(async move {
            let mut peak = 0;
            let mut tick = tokio::time::interval(Duration::from_millis(50));
            loop {
                if let Some(rss) = status_kib(pid, "VmRSS") {
                    peak = peak.max(rss);
                }
                tokio::select! {
                    _ = tick.tick() => {}
                    _ = &mut stopped => return peak,
                }
            }
        });
        PeakWatch {
            pid,
            reset,
            stop,
            sampler,
        }
    }

    /// The peak RSS in KiB since `start`, or `None` if the process could not
    /// be read at all.
    pub async fn finish(self) -> Option<u64> {
        let hwm = if self.reset {
            status_kib(self.pid, "VmHWM")
        } else {
            None
        };
        let _ = self.stop.send(());
        let sampled = self.sampler.await.unwrap_or(0);
        match (hwm, sampled) {
            (None, 0) => None,
            (hwm, sampled) => Some(hwm.unwrap_or(0).max(sampled)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_kib_fields_of_proc_status() {
        let status = "Name:\tdigilocker-gate\nVmPeak:\t  912344 kB\nVmHWM:\t   48212 kB\nVmRSS:\t   40100 kB\n";
        assert_eq!(parse_status_kib(status, "VmHWM"), Some(48212));
        assert_eq!(parse_status_kib(status, "VmRSS"), Some(40100));
        assert_eq!(parse_status_kib(status, "VmSwap"), None);
    }

    #[tokio::test]
    async fn our_own_peak_is_seen() {
        let watch = PeakWatch::start(std::process::id());
        let peak = watch.finish().await;
        let rss = status_kib(std::process::id(), "VmRSS").unwrap_or(0);
        assert!(peak.unwrap_or(0) > 0 && rss > 0);
    }
}
