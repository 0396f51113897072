//! The DigiLocker KYC gateway: the aggregator-compatible API, the consent
//! journey against DigiLocker (or the embedded sandbox), encrypted storage,
//! expiry and metrics.
// clippy::unwrap_used and expect_used: the workspace's lints (Cargo.toml).
#![deny(
    clippy::panic,
    clippy::todo,
    clippy::unimplemented,
    clippy::await_holding_lock
)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod api;
pub mod app;
pub mod auth;
pub mod backup;
pub mod catalogue;
pub mod cli;
pub mod config;
pub mod console;
pub mod crypto;
pub mod data_dir;
pub mod demo;
pub mod domain;
pub mod error;
pub mod files;
pub mod http;
pub mod journey;
pub mod keys;
pub mod logs;
pub mod metrics;
pub mod operator;
pub mod ops;
pub mod revocation;
pub mod sandbox_mode;
pub mod sealed;
pub mod server;
pub mod state;
pub mod storage;
pub mod sweeper;
pub mod timefmt;
pub mod token;
pub mod trace_id;
pub mod upstream;
pub mod webhooks;

pub use app::{start, start_with_clock, RunningApp};
pub use config::Config;
pub use state::AppState;
