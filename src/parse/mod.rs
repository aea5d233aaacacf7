//! Parsers of what a site stores, all pure: bytes or text in, values out, no I/O. Everything
//! here reads server-controlled input, so each parser is tested on its own (and can be fuzzed
//! on its own) with the shapes real installs store.
//!
//! - [`serialized`]: PHP `serialize()` values, with an exact round trip.
//! - [`firewall_files`]: Wordfence's and AIOS's firewall data files.
//! - [`wp_config`]: `wp-config.php`'s settings, secrets dropped.
//! - [`htaccess`]: `.htaccess` sanity checks and server-password directives.
//! - [`markers`]: `# BEGIN`/`# END` marker blocks.
//! - [`ip_list`]: addresses, ranges and the lists plugins keep them in.
//! - [`suggest`]: the closest known name to a mistyped one.
//! - [`text`]: server-sent text made safe to print on a terminal.
//! - [`time`]: Unix times as dates.

pub mod firewall_files;
pub mod htaccess;
pub mod ip_list;
pub mod markers;
#[cfg(test)]
mod mutations;
pub mod serialized;
pub mod suggest;
pub mod text;
pub mod time;
pub mod wp_config;
