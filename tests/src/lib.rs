//! The test harness for Shelver's end-to-end tests. Everything here talks to
//! real servers on 127.0.0.1: an AWS API emulator started by the test command,
//! the real function binaries, and the servers below, which the tests start.
//!
//! - [`api_gateway`]: HTTP API events and responses for the HTTP function.
//! - [`emulator`]: a fresh set of queues and buckets per test, and helpers to
//!   read what the functions did to them.
//! - [`lambda_host`]: a minimal Lambda Runtime API that runs a function binary
//!   and invokes it, as the Lambda service would.
//! - [`fault_proxy`]: an HTTP proxy between a function and the emulator that
//!   fails, resets or delays chosen requests.

// A test harness fails the test that uses it by panicking, with a message.
#![allow(clippy::panic)]

pub mod api_gateway;
pub mod emulator;
pub mod fault_proxy;
pub mod lambda_host;
