//! The `wprescue` binary: parse the command line, hand over to the library, exit.

use clap::Parser;

/// Get a locked-out WordPress administrator back in, from the terminal, over SSH/SFTP or
/// FTP/FTPS.
///
/// wprescue connects to the hosting account, diagnoses why wp-admin is unreachable (server
/// password, security-plugin block, broken .htaccess, orphaned firewall prepend), plans the
/// least invasive fix, applies it with a journal, verifies over HTTP and rolls back on request.
#[derive(Parser)]
#[command(version, about, long_about)]
struct Cli {}

fn main() {
    Cli::parse();
}
