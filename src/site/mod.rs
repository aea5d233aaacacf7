//! The site: what is on the server (WordPress root, `wp-config.php`, `.htaccess`, security
//! plugins and their files) and what it answers over HTTP.

pub mod catalog;
pub mod htaccess;
pub mod markers;
pub mod probe;
pub mod signature;
pub mod wp_config;
