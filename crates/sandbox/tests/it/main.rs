//! Integration tests: the sandbox over real HTTP.
