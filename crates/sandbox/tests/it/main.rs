//! Integration tests: the sandbox served on 127.0.0.1:0, driven over real
//! HTTP like a browser and like a partner's server would.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod documents;
mod eaadhaar;
mod faults;
mod federation;
mod journey;
mod oauth;
mod pull;
mod readme;
mod resources;
mod support;
