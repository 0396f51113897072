//! Driving wrk and reading what it measured.
//!
//! Every run uses one of the Lua scripts in `crates/bench/lua/`, with
//! `report.lua` appended: its `done()` hook prints one line,
//! `BENCH_RESULT {json}`, which [`parse`] reads. wrk's own human summary is
//! printed as well and ignored.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use anyhow::{bail, Context};
use serde::Deserialize;

use crate::process;

/// The marker of the machine-readable line printed by `report.lua`.
pub const RESULT_MARKER: &str = "BENCH_RESULT ";

const REPORT_LUA: &str = include_str!("../lua/report.lua");

/// Which request a run sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Script {
    /// `POST` of the URL with `{"redirectUrl": ...}`.
    Create,
    /// `GET /api/digilocker/{id}/status` over random ids from a file.
    Status,
    /// A plain `GET` of the URL.
    Get,
}

impl Script {
    fn file_name(self) -> &'static str {
        match self {
            Script::Create => "create.lua",
            Script::Status => "status.lua",
            Script::Get => "get.lua",
        }
    }

    fn body(self) -> &'static str {
        match self {
            Script::Create => include_str!("../lua/create.lua"),
            Script::Status => include_str!("../lua/status.lua"),
            Script::Get => include_str!("../lua/get.lua"),
        }
    }
}

/// Write the scripts, each with the report hook appended, into `dir`.
pub fn write_scripts(dir: &Path) -> anyhow::Result<()> {
    for s in [Script::Create, Script::Status, Script::Get] {
        let path = dir.join(s.file_name());
        std::fs::write(&path, format!("{}\n{REPORT_LUA}", s.body()))
            .with_context(|| format!("cannot write {}", path.display()))?;
    }
    Ok(())
}

/// Whether a `wrk` executable is on the `PATH`.
pub fn installed() -> bool {
    std::env::var_os("PATH").is_some_and(|paths| {
        std::env::split_paths(&paths).any(|dir| {
            let p = dir.join("wrk");
            p.is_file()
        })
    })
}

/// What wrk reports for one run (latencies in microseconds).
#[derive(Debug, Clone, Copy, PartialEq, Deserialize)]
pub struct WrkResult {
    /// Answers received, whatever their status.
    pub requests: f64,
    pub duration_us: f64,
    /// Bytes read from the server: status lines, headers and bodies.
    pub bytes: f64,
    pub connect_errors: f64,
    pub read_errors: f64,
    pub write_errors: f64,
    /// Answers with a status of 400 or more.
    pub status_errors: f64,
    pub timeouts: f64,
    pub p50_us: f64,
    pub p90_us: f64,
    pub p99_us: f64,
    pub max_us: f64,
    pub mean_us: f64,
}

impl WrkResult {
    /// Answers per second.
    pub fn rate(&self) -> f64 {
        if self.duration_us > 0.0 {
            self.requests / (self.duration_us / 1e6)
        } else {
            0.0
        }
    }

    /// Mean bytes per answer on the wire (headers included).
    pub fn bytes_per_answer(&self) -> f64 {
        if self.requests > 0.0 {
            self.bytes / self.requests
        } else {
            0.0
        }
    }

    /// Socket errors, timeouts and error statuses together.
    pub fn errors(&self) -> u64 {
        (self.connect_errors
            + self.read_errors
            + self.write_errors
            + self.status_errors
            + self.timeouts) as u64
    }
}

/// Read the result line out of wrk's standard output.
pub fn parse(stdout: &str) -> anyhow::Result<WrkResult> {
    let Some(line) = stdout
        .lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix(RESULT_MARKER))
    else {
        bail!("wrk printed no {RESULT_MARKER}line (did the script's done() run?)");
    };
    serde_json::from_str(line).with_context(|| format!("wrk's result line is not valid: {line}"))
}

/// One wrk run.
#[derive(Debug, Clone)]
pub struct Run {
    pub script: Script,
    /// Full URL, e.g. `http://127.0.0.1:8080/api/digilocker`.
    pub url: String,
    pub connections: u32,
    pub seconds: u64,
    /// Extra request headers, `name: value`.
    pub headers: Vec<String>,
    /// Arguments for the script's `init()`.
    pub script_args: Vec<String>,
}

impl Run {
    /// wrk's arguments. One thread, as in the issue's runs; a 30 s timeout so
    /// that a stall is measured as latency instead of being dropped.
    pub fn args(&self, scripts: &Path) -> Vec<String> {
        let mut args = vec![
            "--threads".to_owned(),
            "1".to_owned(),
            "--connections".to_owned(),
            self.connections.to_string(),
            "--duration".to_owned(),
            format!("{}s", self.seconds),
            "--timeout".to_owned(),
            "30s".to_owned(),
            "--script".to_owned(),
            scripts
                .join(self.script.file_name())
                .to_string_lossy()
                .into_owned(),
        ];
        for h in &self.headers {
            args.push("--header".to_owned());
            args.push(h.clone());
        }
        args.push(self.url.clone());
        if !self.script_args.is_empty() {
            args.push("--".to_owned());
            args.extend(self.script_args.iter().cloned());
        }
        args
    }

    /// Run wrk to the end and parse its result. Bounded: a wrk that outlives
    /// its duration by a minute is killed.
    pub async fn run(&self, scripts: &Path) -> anyhow::Result<WrkResult> {
        let mut cmd = process::command(Path::new("wrk"));
        cmd.args(self.args(scripts))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let child = cmd.spawn().context(
            "cannot start wrk (install it: apt-get install wrk, or run scripts/bench.sh)",
        )?;
        let limit = Duration::from_secs(self.seconds + 60);
        let out = tokio::time::timeout(limit, child.wait_with_output())
            .await
            .with_context(|| format!("wrk did not finish within {} s", limit.as_secs()))??;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let stderr = String::from_utf8_lossy(&out.stderr);
        parse(&stdout).with_context(|| {
            format!(
                "wrk {} failed ({}): {}{}",
                self.url,
                out.status,
                stdout.trim(),
                stderr.trim()
            )
        })
    }
}

/// Where the scripts go for one run of the benchmark.
pub fn scripts_dir(tmp: &Path) -> PathBuf {
    tmp.join("lua")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What wrk 4.1 printed for a real status run against the reference,
    /// with `report.lua` appended; one id in 201 was unknown (404).
    const OUTPUT: &str = "Running 2s test @ http://127.0.0.1:45499/
  1 threads and 64 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency     2.89ms    1.78ms  25.01ms   81.67%
    Req/Sec    19.36k     2.72k   23.75k    65.00%
  38588 requests in 2.00s, 10.38MB read
  Non-2xx or 3xx responses: 192
Requests/sec:  19251.07
Transfer/sec:      5.18MB
BENCH_RESULT {\"requests\":38588,\"duration_us\":2004460,\"bytes\":10881812,\"connect_errors\":0,\"read_errors\":0,\"write_errors\":0,\"status_errors\":192,\"timeouts\":0,\"p50_us\":2836,\"p90_us\":4434,\"p99_us\":8770,\"max_us\":25015,\"mean_us\":2885}
";

    #[test]
    fn parses_the_result_line_among_wrks_summary() {
        let r = parse(OUTPUT).unwrap_or_else(|e| panic!("{e:#}"));
        assert_eq!(r.requests, 38588.0);
        assert_eq!(r.p99_us, 8770.0);
        assert_eq!(r.max_us, 25015.0);
        assert_eq!(r.errors(), 192, "the 404s are errors");
        // wrk's own summary says 19251.07 requests/sec.
        assert!((r.rate() - 19251.1).abs() < 1.0, "{}", r.rate());
        assert!(
            (r.bytes_per_answer() - 282.0).abs() < 0.1,
            "{}",
            r.bytes_per_answer()
        );
    }

    #[test]
    fn output_without_the_result_line_is_an_error() {
        let plain: String = OUTPUT
            .lines()
            .filter(|l| !l.starts_with(RESULT_MARKER))
            .collect::<Vec<_>>()
            .join("\n");
        assert!(parse(&plain).is_err());
        assert!(parse("BENCH_RESULT {\"requests\": 1}").is_err());
    }

    #[test]
    fn arguments_follow_the_issues_settings() {
        let run = Run {
            script: Script::Status,
            url: "http://127.0.0.1:1/".into(),
            connections: 64,
            seconds: 10,
            headers: vec!["x-client-id: a".into()],
            script_args: vec!["/tmp/ids".into()],
        };
        let args = run.args(Path::new("/s")).join(" ");
        assert_eq!(
            args,
            "--threads 1 --connections 64 --duration 10s --timeout 30s --script /s/status.lua \
             --header x-client-id: a http://127.0.0.1:1/ -- /tmp/ids"
        );
    }
}
