//! Integration tests of the `aadhaar` crate: one binary, one module per concern.

mod contract;
mod mutation;
mod parse;
mod props;
mod support;
mod trust;
mod verify;
