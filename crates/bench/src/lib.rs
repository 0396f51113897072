//! A one-command benchmark of the gateway against a bare reference server in
//! the same run: `cargo run --release -p bench` (or `scripts/bench.sh`).
//!
//! The `bench` binary builds and starts both servers on 127.0.0.1, drives
//! them one after the other with wrk, samples their peak memory per phase,
//! and prints one markdown table with the ratios gateway / reference;
//! `bench-reference` is the reference server. `docs/benchmarks.md` says what
//! every number means.

pub mod cpu;
pub mod driver;
pub mod instance;
pub mod postgres;
pub mod process;
pub mod reference;
pub mod report;
pub mod rss;
pub mod target;
pub mod wrk;
