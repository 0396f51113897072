//! The results of one run and the markdown table they are printed as.

use std::fmt::Write as _;

use crate::wrk::WrkResult;

/// The calls measured against both servers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Call {
    /// `POST /api/digilocker`.
    Create,
    /// `GET /api/digilocker/{id}/status`.
    Status,
    /// `GET /api/digilocker/documents`, no `Accept-Encoding`.
    Catalogue,
    /// The same with `Accept-Encoding: gzip, br`.
    CatalogueCompressed,
}

impl Call {
    /// The label in the table.
    pub fn label(self) -> &'static str {
        match self {
            Call::Create => "create",
            Call::Status => "status",
            Call::Catalogue => "catalogue",
            Call::CatalogueCompressed => "catalogue, gzip/br accepted",
        }
    }
}

/// One wrk run and what the server used during it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measured {
    pub wrk: WrkResult,
    /// KiB; `None` when `/proc` could not be read.
    pub peak_rss_kib: Option<u64>,
    /// The server's CPU time (user + system) over the run, in seconds.
    pub server_cpu_seconds: Option<f64>,
    /// CPU time of the PostgreSQL backends serving the gateway, in seconds.
    pub database_cpu_seconds: Option<f64>,
    /// Cores kept busy meanwhile by everything but the server, wrk, the
    /// benchmark and the PostgreSQL backends serving the gateway: other
    /// users of the machine.
    pub other_cores: Option<f64>,
}

impl Measured {
    /// The server's CPU time per answer, in microseconds.
    pub fn cpu_us_per_answer(&self) -> Option<f64> {
        self.per_answer(self.server_cpu_seconds)
    }

    /// The PostgreSQL backends' CPU time per answer, in microseconds.
    pub fn database_us_per_answer(&self) -> Option<f64> {
        self.per_answer(self.database_cpu_seconds)
    }

    /// One line for the progress output.
    pub fn summary(&self) -> String {
        format!(
            "{:>7.0} req/s  p50 {:>7.2} ms  p99 {:>7.2} ms  {:>9.0} B/answer  peak RSS {:>6.1} MiB  \
             CPU {:>4.0} µs/answer{}  other load {:.1} cores  errors {}",
            self.wrk.rate(),
            self.wrk.p50_us / 1000.0,
            self.wrk.p99_us / 1000.0,
            self.wrk.bytes_per_answer(),
            self.peak_rss_kib.unwrap_or(0) as f64 / 1024.0,
            self.cpu_us_per_answer().unwrap_or(f64::NAN),
            self.database_us_per_answer()
                .map(|d| format!(" + PostgreSQL {d:.0} µs"))
                .unwrap_or_default(),
            self.other_cores.unwrap_or(f64::NAN),
            self.wrk.errors()
        )
    }

    fn per_answer(&self, seconds: Option<f64>) -> Option<f64> {
        seconds
            .filter(|_| self.wrk.requests > 0.0)
            .map(|s| s * 1e6 / self.wrk.requests)
    }

    /// Server CPU per answer, with the database's added when measured.
    fn cpu_cell(&self) -> String {
        match (self.cpu_us_per_answer(), self.database_us_per_answer()) {
            (Some(s), Some(d)) => format!("{s:.0} µs + {d:.0} µs PG"),
            (Some(s), None) => format!("{s:.0} µs"),
            _ => "n/a".to_owned(),
        }
    }
}

/// One call at one concurrency against the gateway and the reference.
#[derive(Debug, Clone, PartialEq)]
pub struct CallRow {
    /// The gateway's storage: `SQLite` or `PostgreSQL`.
    pub backend: String,
    pub call: Call,
    pub connections: u32,
    pub gateway: Measured,
    pub reference: Measured,
}

/// The expiry runs of one backend.
#[derive(Debug, Clone, PartialEq)]
pub struct ExpiryRow {
    pub backend: String,
    pub ttl_seconds: u64,
    pub sweep_seconds: u64,
    /// Creates while nothing expires; these requests are the cohort.
    pub steady: Measured,
    /// Creates while the cohort expires and is swept.
    pub during: Measured,
    /// The gateway's erasure counter moved by this much over the window.
    pub erased_in_window: Option<u64>,
}

impl ExpiryRow {
    /// Create rate during expiry over the steady rate.
    pub fn rate_ratio(&self) -> f64 {
        ratio(self.during.wrk.rate(), self.steady.wrk.rate())
    }

    /// p99 during expiry over the steady p99.
    pub fn p99_ratio(&self) -> f64 {
        ratio(self.during.wrk.p99_us, self.steady.wrk.p99_us)
    }
}

/// When and where the run happened.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct RunInfo {
    pub date: String,
    pub commit: String,
    pub cpu: String,
    pub cores: usize,
    pub memory_gib: f64,
    pub load_before: String,
    pub load_after: String,
    pub mode: String,
}

/// Everything one run measured.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Report {
    pub info: RunInfo,
    pub calls: Vec<CallRow>,
    pub expiry: Vec<ExpiryRow>,
    /// Free-form lines printed under the tables (encodings seen, sizes).
    pub notes: Vec<String>,
}

/// One target and whether this run met it.
#[derive(Debug, Clone, PartialEq)]
pub struct Check {
    pub target: String,
    pub backend: String,
    pub measured: String,
    pub goal: String,
    pub met: bool,
}

/// The catalogue with `Accept-Encoding` must be smaller than this on the wire.
pub const CATALOGUE_WIRE_LIMIT: f64 = 300_000.0;
/// Peak RSS limit during the status (c256) and catalogue runs, KiB (64 MiB).
pub const RSS_LIMIT_KIB: u64 = 64 * 1024;

/// What a run is held to: the performance targets, or the gate CI applies
/// (`--gate`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Goals {
    /// Create rate, gateway / reference, at least.
    pub create: f64,
    /// Status rate at the lowest concurrency, gateway / reference, at least.
    pub status: f64,
    /// Peak RSS during the status and catalogue runs, below (KiB).
    pub rss_kib: u64,
    /// Whether the expiry runs' ratios count.
    pub expiry: bool,
}

impl Goals {
    /// The performance targets (docs/benchmarks.md).
    pub const TARGETS: Goals = Goals {
        create: 2.0,
        status: 0.8,
        rss_kib: RSS_LIMIT_KIB,
        expiry: true,
    };
    /// Gross regressions only: far enough below the targets that a noisy,
    /// shared machine does not fail it, near enough that undoing the
    /// writer's group commit (create falls to about the reference's rate)
    /// or the read pool (status falls by half) does. Expiry ratios swing
    /// too much in a quick run to gate on.
    pub const GATE: Goals = Goals {
        create: 1.2,
        status: 0.6,
        rss_kib: 80 * 1024,
        expiry: false,
    };
}

fn ratio(a: f64, b: f64) -> f64 {
    if b > 0.0 {
        a / b
    } else {
        f64::NAN
    }
}

fn ms(us: f64) -> String {
    let ms = us / 1000.0;
    if ms >= 100.0 {
        format!("{ms:.0} ms")
    } else if ms >= 10.0 {
        format!("{ms:.1} ms")
    } else {
        format!("{ms:.2} ms")
    }
}

fn bytes(b: f64) -> String {
    if b >= 1e6 {
        format!("{:.2} MB", b / 1e6)
    } else if b >= 1e4 {
        format!("{:.0} KB", b / 1e3)
    } else {
        format!("{b:.0} B")
    }
}

fn rss(kib: Option<u64>) -> String {
    match kib {
        Some(k) => format!("{:.1} MiB", k as f64 / 1024.0),
        None => "n/a".to_owned(),
    }
}

fn cores(c: Option<f64>) -> String {
    match c {
        Some(c) => format!("{c:.1}"),
        None => "n/a".to_owned(),
    }
}

fn times(x: f64) -> String {
    if x.is_finite() {
        format!("{x:.2}×")
    } else {
        "n/a".to_owned()
    }
}

impl Report {
    /// The rows of `backend` for `call` at `connections`, if measured.
    fn row(&self, backend: &str, call: Call, connections: Option<u32>) -> Option<&CallRow> {
        self.calls.iter().find(|r| {
            r.backend == backend && r.call == call && connections.is_none_or(|c| r.connections == c)
        })
    }

    fn backends(&self) -> Vec<String> {
        let mut out: Vec<String> = Vec::new();
        for b in self
            .calls
            .iter()
            .map(|r| &r.backend)
            .chain(self.expiry.iter().map(|r| &r.backend))
        {
            if !out.contains(b) {
                out.push(b.clone());
            }
        }
        out
    }

    /// Every target, per backend, against this run.
    pub fn checks(&self) -> Vec<Check> {
        self.checks_against(Goals::TARGETS)
    }

    /// Each of `goals`, per backend, against this run (the gate: SQLite's
    /// only, as the targets are stated for SQLite; a PostgreSQL row's ratio
    /// is against a SQLite reference and carries PostgreSQL's round trips).
    pub fn checks_against(&self, goals: Goals) -> Vec<Check> {
        let mut out = Vec::new();
        for backend in self.backends() {
            if goals == Goals::GATE && backend != "SQLite" {
                continue;
            }
            let b = backend.as_str();
            let mut push = |target: &str, measured: String, goal: &str, met: bool| {
                out.push(Check {
                    target: target.to_owned(),
                    backend: backend.clone(),
                    measured,
                    goal: goal.to_owned(),
                    met,
                })
            };
            if let Some(r) = self.row(b, Call::Create, None) {
                let x = ratio(r.gateway.wrk.rate(), r.reference.wrk.rate());
                push(
                    "create rate, gateway / reference",
                    times(x),
                    &format!("≥ {}×", goals.create),
                    x >= goals.create,
                );
            }
            // The lowest concurrency measured is the c64.
            if let Some(r) = self
                .calls
                .iter()
                .filter(|r| r.backend == b && r.call == Call::Status)
                .min_by_key(|r| r.connections)
            {
                let x = ratio(r.gateway.wrk.rate(), r.reference.wrk.rate());
                push(
                    &format!("status rate (c{}), gateway / reference", r.connections),
                    times(x),
                    &format!("≥ {}×", goals.status),
                    x >= goals.status,
                );
            }
            if let Some(r) = self.row(b, Call::CatalogueCompressed, None) {
                let size = r.gateway.wrk.bytes_per_answer();
                push(
                    "catalogue on the wire, gzip/br accepted",
                    bytes(size),
                    "< 300 KB",
                    size < CATALOGUE_WIRE_LIMIT,
                );
            }
            if let Some(r) = self
                .calls
                .iter()
                .filter(|r| r.backend == b && r.call == Call::Status)
                .max_by_key(|r| r.connections)
            {
                let peak = r.gateway.peak_rss_kib;
                push(
                    &format!("gateway peak RSS, status c{}", r.connections),
                    rss(peak),
                    &format!("< {} MiB", goals.rss_kib / 1024),
                    peak.is_some_and(|k| k < goals.rss_kib),
                );
            }
            let catalogue_peak = self
                .calls
                .iter()
                .filter(|r| {
                    r.backend == b && matches!(r.call, Call::Catalogue | Call::CatalogueCompressed)
                })
                .filter_map(|r| r.gateway.peak_rss_kib)
                .max();
            if self
                .calls
                .iter()
                .any(|r| r.backend == b && r.call == Call::Catalogue)
            {
                push(
                    "gateway peak RSS, catalogue c16",
                    rss(catalogue_peak),
                    &format!("< {} MiB", goals.rss_kib / 1024),
                    catalogue_peak.is_some_and(|k| k < goals.rss_kib),
                );
            }
            for e in self
                .expiry
                .iter()
                .filter(|e| goals.expiry && e.backend == b)
            {
                let x = e.rate_ratio();
                push(
                    "create rate during expiry / steady",
                    times(x),
                    "≥ 0.8×",
                    x >= 0.8,
                );
                let x = e.p99_ratio();
                push(
                    "create p99 during expiry / steady",
                    times(x),
                    "≤ 2×",
                    x <= 2.0,
                );
            }
        }
        out
    }

    /// Phases that saw errors, as `backend call (server): n errors`.
    pub fn failures(&self) -> Vec<String> {
        let mut out = Vec::new();
        for r in &self.calls {
            for (server, m) in [("gateway", &r.gateway), ("reference", &r.reference)] {
                if m.wrk.errors() > 0 {
                    out.push(format!(
                        "{} {} c{} ({server}): {} errors",
                        r.backend,
                        r.call.label(),
                        r.connections,
                        m.wrk.errors()
                    ));
                }
            }
        }
        for e in &self.expiry {
            for (when, m) in [("steady", &e.steady), ("during expiry", &e.during)] {
                if m.wrk.errors() > 0 {
                    out.push(format!(
                        "{} create {when}: {} errors",
                        e.backend,
                        m.wrk.errors()
                    ));
                }
            }
        }
        out
    }

    /// The whole report as markdown.
    pub fn markdown(&self) -> String {
        let mut s = String::new();
        let i = &self.info;
        let _ = writeln!(s, "# Gateway vs reference, {}", i.date);
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "Commit `{}`; {}; {} cores, {:.0} GiB RAM; load average {} before, {} after; {}.",
            i.commit, i.cpu, i.cores, i.memory_gib, i.load_before, i.load_after, i.mode
        );
        let _ = writeln!(s);
        let _ = writeln!(s, "## Calls");
        let _ = writeln!(s);
        let _ = writeln!(
            s,
            "| backend | call | conns | gateway req/s | reference req/s | gateway / reference | \
             gateway p50 / p99 | reference p50 / p99 | bytes per answer, gateway / reference | \
             peak RSS, gateway / reference | server CPU per answer, gateway / reference | \
             other load (cores) | errors |"
        );
        let _ = writeln!(
            s,
            "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
        );
        for r in &self.calls {
            let (g, f) = (&r.gateway.wrk, &r.reference.wrk);
            let _ = writeln!(
                s,
                "| {} | {} | {} | {:.0} | {:.0} | {} | {} / {} | {} / {} | {} / {} | {} / {} | {} / {} | {} / {} | {} / {} |",
                r.backend,
                r.call.label(),
                r.connections,
                g.rate(),
                f.rate(),
                times(ratio(g.rate(), f.rate())),
                ms(g.p50_us),
                ms(g.p99_us),
                ms(f.p50_us),
                ms(f.p99_us),
                bytes(g.bytes_per_answer()),
                bytes(f.bytes_per_answer()),
                rss(r.gateway.peak_rss_kib),
                rss(r.reference.peak_rss_kib),
                r.gateway.cpu_cell(),
                r.reference.cpu_cell(),
                cores(r.gateway.other_cores),
                cores(r.reference.other_cores),
                g.errors(),
                f.errors(),
            );
        }
        if !self.expiry.is_empty() {
            let _ = writeln!(s);
            let _ = writeln!(s, "## Creates while a cohort expires");
            let _ = writeln!(s);
            let _ = writeln!(
                s,
                "| backend | TTL / sweep | cohort | steady req/s | steady p99 | during req/s | \
                 during p99 | during max | rate during / steady | p99 during / steady | \
                 erased in window | other load (cores) | errors |"
            );
            let _ = writeln!(
                s,
                "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
            );
            for e in &self.expiry {
                let (st, du) = (&e.steady.wrk, &e.during.wrk);
                let _ = writeln!(
                    s,
                    "| {} | {} s / {} s | {:.0} | {:.0} | {} | {:.0} | {} | {} | {} | {} | {} | {} / {} | {} / {} |",
                    e.backend,
                    e.ttl_seconds,
                    e.sweep_seconds,
                    st.requests,
                    st.rate(),
                    ms(st.p99_us),
                    du.rate(),
                    ms(du.p99_us),
                    ms(du.max_us),
                    times(e.rate_ratio()),
                    times(e.p99_ratio()),
                    e.erased_in_window
                        .map(|n| n.to_string())
                        .unwrap_or_else(|| "n/a".to_owned()),
                    cores(e.steady.other_cores),
                    cores(e.during.other_cores),
                    st.errors(),
                    du.errors(),
                );
            }
        }
        let checks = self.checks();
        if !checks.is_empty() {
            let _ = writeln!(s);
            let _ = writeln!(s, "## Targets");
            let _ = writeln!(s);
            let _ = writeln!(s, "| target | backend | measured | goal | met |");
            let _ = writeln!(s, "|---|---|---:|---|---|");
            for c in &checks {
                let _ = writeln!(
                    s,
                    "| {} | {} | {} | {} | {} |",
                    c.target,
                    c.backend,
                    c.measured,
                    c.goal,
                    if c.met { "yes" } else { "**no**" }
                );
            }
        }
        if !self.notes.is_empty() {
            let _ = writeln!(s);
            for n in &self.notes {
                let _ = writeln!(s, "- {n}");
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wrk(requests: f64, p99_ms: f64, bytes_each: f64) -> WrkResult {
        WrkResult {
            requests,
            duration_us: 10e6,
            bytes: requests * bytes_each,
            connect_errors: 0.0,
            read_errors: 0.0,
            write_errors: 0.0,
            status_errors: 0.0,
            timeouts: 0.0,
            p50_us: p99_ms * 300.0,
            p90_us: p99_ms * 600.0,
            p99_us: p99_ms * 1000.0,
            max_us: p99_ms * 3000.0,
            mean_us: p99_ms * 400.0,
        }
    }

    fn m(requests: f64, p99_ms: f64, bytes_each: f64, rss_mib: u64) -> Measured {
        Measured {
            wrk: wrk(requests, p99_ms, bytes_each),
            peak_rss_kib: Some(rss_mib * 1024),
            server_cpu_seconds: Some(requests * 100e-6),
            database_cpu_seconds: None,
            other_cores: Some(0.1),
        }
    }

    fn report() -> Report {
        let row = |call, connections, gateway, reference| CallRow {
            backend: "SQLite".into(),
            call,
            connections,
            gateway,
            reference,
        };
        Report {
            calls: vec![
                row(
                    Call::Create,
                    64,
                    m(45_000.0, 15.0, 300.0, 40),
                    m(30_000.0, 20.0, 250.0, 20),
                ),
                row(
                    Call::Status,
                    64,
                    m(150_000.0, 3.0, 400.0, 41),
                    m(160_000.0, 2.0, 250.0, 20),
                ),
                row(
                    Call::Status,
                    256,
                    m(150_000.0, 9.0, 400.0, 90),
                    m(160_000.0, 8.0, 250.0, 22),
                ),
                row(
                    Call::CatalogueCompressed,
                    16,
                    m(900.0, 40.0, 2.9e6, 60),
                    m(900.0, 40.0, 2.9e6, 20),
                ),
            ],
            expiry: vec![ExpiryRow {
                backend: "SQLite".into(),
                ttl_seconds: 50,
                sweep_seconds: 5,
                steady: m(60_000.0, 15.0, 300.0, 40),
                during: m(30_000.0, 45.0, 300.0, 40),
                erased_in_window: Some(60_000),
            }],
            ..Report::default()
        }
    }

    #[test]
    fn targets_are_judged_from_the_measurements() {
        let checks = report().checks();
        let met = |name: &str| {
            checks
                .iter()
                .find(|c| c.target.starts_with(name))
                .map(|c| c.met)
                .unwrap_or_else(|| panic!("no check {name}"))
        };
        assert!(!met("create rate"), "1.5× is short of 2×");
        assert!(met("status rate (c64)"), "0.94× meets 0.8×");
        assert!(!met("catalogue on the wire"), "2.9 MB is not under 300 KB");
        assert!(!met("gateway peak RSS, status c256"), "90 MiB");
        assert!(!met("create rate during expiry"), "0.5×");
        assert!(!met("create p99 during expiry"), "3×");
    }

    #[test]
    fn the_gate_fails_only_gross_regressions() {
        let gate = |r: &Report| {
            r.checks_against(Goals::GATE)
                .into_iter()
                .filter(|c| !c.met)
                .map(|c| c.target)
                .collect::<Vec<_>>()
        };
        let mut r = report();
        // 1.5× create passes the gate though short of the target; the
        // expiry ratios are not gated; 90 MiB and 2.9 MB still fail.
        assert_eq!(
            gate(&r),
            vec![
                "catalogue on the wire, gzip/br accepted".to_owned(),
                "gateway peak RSS, status c256".to_owned(),
            ]
        );
        // Create at the reference's rate (no group commit) and status at
        // half of it (no read pool) fail.
        r.calls[0].gateway = m(30_000.0, 15.0, 300.0, 40);
        r.calls[1].gateway = m(80_000.0, 3.0, 400.0, 41);
        let failed = gate(&r);
        assert!(
            failed.contains(&"create rate, gateway / reference".to_owned()),
            "{failed:?}"
        );
        assert!(
            failed.contains(&"status rate (c64), gateway / reference".to_owned()),
            "{failed:?}"
        );
    }

    #[test]
    fn the_table_shows_rates_ratios_and_failures() {
        let mut r = report();
        let md = r.markdown();
        assert!(
            md.contains("| SQLite | create | 64 | 4500 | 3000 | 1.50× |"),
            "{md}"
        );
        assert!(md.contains("| 2.90 MB / 2.90 MB |"), "{md}");
        assert!(md.contains("| SQLite | 50 s / 5 s | 60000 |"), "{md}");
        // Every row has as many cells as its header.
        for table in md.split("\n\n").filter(|t| t.starts_with('|')) {
            let cells: Vec<usize> = table.lines().map(|l| l.matches('|').count()).collect();
            assert!(cells.iter().all(|&c| c == cells[0]), "{table}");
        }
        assert!(r.failures().is_empty());
        r.calls[1].gateway.wrk.status_errors = 7.0;
        assert_eq!(r.failures(), vec!["SQLite status c64 (gateway): 7 errors"]);
    }
}
