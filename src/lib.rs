//! wprescue: get a locked-out WordPress administrator back in, over SSH/SFTP or FTP/FTPS.
//!
//! The crate is layered; each layer only uses the ones below it:
//!
//! - [`http`]: requests made *as the caller* (optionally from a chosen local address), the
//!   way the site sees the locked-out browser.
//! - [`transport`]: remote files, the same over SFTP/SSH, FTP/FTPS or a local folder: list,
//!   stat, read, atomic write, rename, mkdir, remove, and commands over SSH.
//! - [`parse`]: pure parsers of what a site stores (serialized values, firewall files,
//!   `wp-config.php`, `.htaccess`, marker blocks, address lists): no I/O.
//! - [`helper`]: the second way to reach the site, beside [`transport`]: a small PHP helper
//!   doing a closed set of row operations on the site's database ([`helper::db::Database`]).
//! - [`site`]: reading the site without running it: `wp-config.php`, `.htaccess`, plugins,
//!   HTTP probes as the caller, and the diagnosis.
//! - [`engine`]: the run. A [`engine::Session`] is one connected, examined site, set up the
//!   same way for every command; on it, the ladder plans the playbooks' steps, applies them
//!   rung by rung under the site lock with the journal written first, verifies as the caller,
//!   climbs or rolls back, and undoes a run from its journal in a fresh process. What happens
//!   goes out through an [`engine::Observer`].
//! - [`playbook`]: the declarative YAML playbooks, built-in and the user's; each becomes an
//!   [`engine::RungSpec`].
//! - [`cli`]: the command line: arguments, printing (it is the observer), confirmation and
//!   secrets, the one error renderer and the one exit mapping; the only place `anyhow` is
//!   used.
//!
//! [`fault`] is a test-only hook, usable from every layer.
//! [`interrupt`] turns Ctrl-C into a request that every layer can poll.

pub mod cli;
pub mod engine;
pub mod fault;
pub mod helper;
pub mod http;
pub mod interrupt;
#[cfg(test)]
mod mutate;
pub mod parse;
pub mod playbook;
pub mod site;
pub mod transport;
