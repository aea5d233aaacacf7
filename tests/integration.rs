//! Integration tests: the real `wprescue` library and binary against the real sandbox
//! (Apache + PHP + MariaDB + WordPress, OpenSSH, vsftpd) on loopback.
//!
//! Start the sandbox first: `sudo tests/sandbox/sandbox up`. Without it every test here fails
//! and says so; none is skipped.

mod accounts;
mod allow_lists;
// The transport contract's checks: compiled into the library only for its unit tests, and
// here by path, against the sandbox's servers (see `transport.rs`).
#[path = "../src/transport/conformance.rs"]
mod conformance;
mod conventions;
mod diagnose;
mod firewalls;
mod fixture_state;
mod ftp_servers;
mod harness;
mod helper;
mod jump_host;
mod plans;
mod readme;
mod real_plugins;
mod round_trips;
mod scenarios;
mod stacks;
mod test;
mod transport;
mod two_factor;
mod unlock;
mod whitelist;
