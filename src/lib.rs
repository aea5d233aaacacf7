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
//! - [`site`]: reading the site without running it: `wp-config.php`, `.htaccess`, plugins.
//! - [`engine`]: plan, journaled apply and rollback of the changes steps describe.
//! - [`playbook`]: the declarative YAML playbooks, built-in and the user's.
//! - [`cli`]: the command line, the only place `anyhow` is used.
//!
//! [`fault`] is a test-only hook, usable from every layer.
//! [`interrupt`] turns Ctrl-C into a request that every layer can poll.

pub mod cli;
pub mod engine;
pub mod fault;
pub mod helper;
pub mod http;
pub mod interrupt;
pub mod parse;
pub mod playbook;
pub mod site;
pub mod transport;
