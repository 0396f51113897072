//! Integration tests of the DigiLocker client against the project's sandbox
//! over real HTTP: every endpoint, every documented error, the fault switches.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod journey;
mod support;

mod catalogue;
mod eaadhaar_path;
mod faults;
mod oauth;
mod private_ca;
mod resources;
mod transport;
