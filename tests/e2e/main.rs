//! Herald end to end: every test starts a real server (in process or the `herald` binary) on
//! 127.0.0.1 with an ephemeral port and a temporary data dir, and stops it itself.
//!
//! One test binary on purpose: each binary links wasmtime, so one link instead of eight keeps a
//! clean CI build fast and small on disk.

mod common;

mod cli;
mod directory_api;
mod durability;
mod inbox;
mod notifications;
mod push_api;
mod rest_api;
mod transport;
