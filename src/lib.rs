//! Herald: a self-hosted push service. Push a message to all users of an app, or to the
//! users selected by tags or attributes; online users receive it at once, offline users
//! when they come back within its lifetime.
//!
//! The binary (`src/main.rs`) only parses flags and calls [`server::run`]; everything else
//! lives in this library so tests run the same code on `127.0.0.1:0`.

pub mod api;
pub mod app;
pub mod audience;
pub mod config;
pub mod delivery;
pub mod directory;
pub mod error;
pub mod metrics;
pub mod push;
pub mod rest;
pub mod server;
pub mod store;
pub mod time;
pub mod transport;
