//! The gateway's integration tests: the real app on 127.0.0.1:0 with a fresh
//! SQLite file (or a PostgreSQL schema), the embedded sandbox reached over
//! real HTTP, the journey driven through the sandbox's pages.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod aadhaar;
mod api;
mod backup;
mod browser;
mod configuration;
mod console;
mod contract;
mod documents;
mod dropin;
mod durability;
mod erasure;
mod failclosed;
mod federation;
mod fidelity;
mod hardening;
mod harness;
mod hostile;
mod journey;
mod lifecycle;
mod monitoring;
mod multi;
mod pg_roles;
mod storage;
mod structure;
mod upstream;
mod verified;
mod webhooks;
