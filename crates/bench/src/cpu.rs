//! CPU time over one run: the server's own (per answer, a measure of its
//! work that other load on the machine disturbs much less than its rate),
//! and what the rest of the machine used meanwhile (how noisy the run was).

use std::time::{Duration, Instant};

/// CPU counters at one instant.
#[derive(Debug, Clone)]
pub struct Snapshot {
    at: Instant,
    /// Busy clock ticks of the whole machine, all CPUs.
    machine_busy: u64,
    /// The server's user + system clock ticks.
    server: u64,
    /// CPU time of this process and of its reaped children (wrk).
    ours: Duration,
    /// User + system ticks of each database server process working for the
    /// server (PostgreSQL backends), by pid.
    database: Vec<(u32, u64)>,
}

/// The CPU figures of one run.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Usage {
    /// Server CPU time in seconds.
    pub server_seconds: f64,
    /// CPU time of the database processes working for it, if any were given.
    pub database_seconds: Option<f64>,
    /// Cores kept busy by everything but the server, wrk and the benchmark.
    pub other_cores: f64,
}

fn ticks_per_second() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let hz = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if hz > 0 {
        hz as f64
    } else {
        100.0
    }
}

/// Busy ticks from the first line of `/proc/stat`.
pub fn parse_machine_busy(stat: &str) -> Option<u64> {
    let line = stat.lines().next()?.strip_prefix("cpu ")?;
    let v: Vec<u64> = line
        .split_whitespace()
        .filter_map(|f| f.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal ...
    if v.len() < 8 {
        return None;
    }
    Some(v[0] + v[1] + v[2] + v[5] + v[6] + v[7])
}

/// utime + stime from a `/proc/<pid>/stat` line.
pub fn parse_process_ticks(stat: &str) -> Option<u64> {
    // Fields after the command name, which is in parentheses and may hold
    // spaces: state is field 3, utime 14, stime 15.
    let rest = &stat[stat.rfind(')')? + 1..];
    let f: Vec<&str> = rest.split_whitespace().collect();
    Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
}

fn rusage(who: libc::c_int) -> Duration {
    // SAFETY: getrusage only writes the struct we pass.
    let mut r: libc::rusage = unsafe { std::mem::zeroed() };
    if unsafe { libc::getrusage(who, &mut r) } != 0 {
        return Duration::ZERO;
    }
    let tv = |t: libc::timeval| {
        Duration::from_secs(t.tv_sec.max(0) as u64) + Duration::from_micros(t.tv_usec.max(0) as u64)
    };
    tv(r.ru_utime) + tv(r.ru_stime)
}

fn process_ticks(pid: u32) -> Option<u64> {
    parse_process_ticks(&std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?)
}

/// The counters now, for the server `pid` and the database processes
/// `database` working for it (on this machine).
pub fn snapshot(pid: u32, database: &[u32]) -> Option<Snapshot> {
    let machine_busy = parse_machine_busy(&std::fs::read_to_string("/proc/stat").ok()?)?;
    let server = process_ticks(pid)?;
    Some(Snapshot {
        at: Instant::now(),
        machine_busy,
        server,
        ours: rusage(libc::RUSAGE_SELF) + rusage(libc::RUSAGE_CHILDREN),
        database: database
            .iter()
            .filter_map(|&p| Some((p, process_ticks(p)?)))
            .collect(),
    })
}

/// What happened between two snapshots of the same server.
pub fn between(a: &Snapshot, b: &Snapshot) -> Option<Usage> {
    let seconds = b.at.duration_since(a.at).as_secs_f64();
    if seconds <= 0.0 {
        return None;
    }
    let hz = ticks_per_second();
    let machine = b.machine_busy.checked_sub(a.machine_busy)? as f64 / hz;
    let server = b.server.checked_sub(a.server)? as f64 / hz;
    let ours = b.ours.saturating_sub(a.ours).as_secs_f64();
    // Processes present at both ends; one that came or went in between is
    // missed (the gateway's pool keeps its connections open).
    let database = (!a.database.is_empty()).then(|| {
        b.database
            .iter()
            .filter_map(|(pid, end)| {
                let (_, start) = a.database.iter().find(|(p, _)| p == pid)?;
                Some(end.saturating_sub(*start) as f64 / hz)
            })
            .sum::<f64>()
    });
    Some(Usage {
        server_seconds: server,
        database_seconds: database,
        other_cores: ((machine - server - ours - database.unwrap_or(0.0)) / seconds).max(0.0),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_proc_stat_lines() {
        let stat = "cpu  4705 150 1120 16250 520 30 40 5 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\n";
        assert_eq!(
            parse_machine_busy(stat),
            Some(4705 + 150 + 1120 + 30 + 40 + 5)
        );
        let proc = "31619 (digilocker gate) S 31092 31619 31092 0 -1 4194304 9641 0 0 0 \
                    1234 567 0 0 20 0 6 0 4170 1210093568 27462";
        assert_eq!(parse_process_ticks(proc), Some(1234 + 567));
        assert_eq!(parse_process_ticks("12 (x) S 1"), None);
    }

    #[test]
    fn our_own_cpu_time_is_counted_as_the_servers() {
        let pid = std::process::id();
        let a = snapshot(pid, &[]);
        let mut x = 0u64;
        for i in 0..30_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        let b = snapshot(pid, &[]);
        let usage = a.zip(b).and_then(|(a, b)| between(&a, &b));
        assert!(usage.is_some_and(|u| u.server_seconds > 0.0), "{usage:?}");
        assert!(usage.is_some_and(|u| u.database_seconds.is_none()));
    }
}
