//! The DigiLocker KYC gateway: the aggregator-compatible API of
//! `spec/CONTRACT.md`, the consent journey against DigiLocker (or the
//! embedded sandbox), encrypted storage, expiry and metrics.
#![deny(clippy::unwrap_used, clippy::expect_used)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used))]

pub mod api;
pub mod app;
pub mod auth;
pub mod catalogue;
pub mod cli;
pub mod config;
pub mod crypto;
pub mod demo;
pub mod domain;
pub mod ekyc;
pub mod error;
pub mod files;
pub mod journey;
pub mod metrics;
pub mod sandbox_mode;
pub mod storage;
pub mod sweeper;
pub mod trace;
pub mod upstream;

pub use app::{start, AppState, RunningApp};
pub use config::Config;
