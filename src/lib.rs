//! wprescue: get a locked-out WordPress administrator back in, over SSH/SFTP or FTP/FTPS.
//!
//! The crate is layered; each layer only uses the ones below it:
//!
//! - [`http`]: requests made *as the caller* (optionally from a chosen local address), the
//!   way the site sees the locked-out browser.
//! - [`site`]: reading the site without running it: `wp-config.php`, `.htaccess`, plugins.
//! - [`playbook`]: the declarative YAML playbooks, built-in and the user's.

pub mod http;
pub mod playbook;
pub mod site;
