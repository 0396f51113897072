//! Integration tests of the `aadhaar` crate: one binary, one module per concern.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod contract;
mod issuer;
mod mutation;
mod parse;
mod pdfsig;
mod props;
mod real_shape;
mod support;
mod trust;
mod verify;
