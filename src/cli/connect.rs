//! From the command line to one open connection: target parsing (with `~/.ssh/config`),
//! connection options from flags, secrets from the environment or a prompt.

use std::io::IsTerminal;
use std::time::Duration;

use anyhow::Context;

use crate::transport::{self, ConnectOptions, Credentials, SshConfig, Target, TlsTrust, Transport};

use super::args::ConnectArgs;

/// Parses `target` and connects, asking for secrets only when the server wants one.
pub fn open(target: &str, args: &ConnectArgs) -> anyhow::Result<Box<dyn Transport>> {
    let ssh_config = SshConfig::load_user().context("cannot read ~/.ssh/config")?;
    let target = Target::parse(target, &ssh_config)?;
    let mut credentials = Credentials::from_env(std::io::stdin().is_terminal());
    Ok(transport::connect(
        &target,
        &options(args),
        &mut credentials,
    )?)
}

fn options(args: &ConnectArgs) -> ConnectOptions {
    let tls = match (&args.tls_ca, args.insecure_tls) {
        (_, true) => TlsTrust::Insecure,
        (Some(ca), false) => TlsTrust::CaFile(ca.clone()),
        (None, false) => TlsTrust::SystemRoots,
    };
    ConnectOptions {
        timeout: Duration::from_secs(args.timeout),
        identity_files: args.identity.clone(),
        known_hosts: args.known_hosts.iter().cloned().collect(),
        accept_host_key: args.accept_host_key.clone(),
        use_agent: !args.no_agent,
        tls,
        progress: true,
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    use crate::cli::args::Cli;
    use crate::transport::{
        ACCEPT_HOST_KEY_FLAG, IDENTITY_FLAG, INSECURE_TLS_FLAG, TIMEOUT_FLAG, TLS_CA_FLAG,
    };

    /// Transport errors name flags in their hints; each must be a flag the CLI really has.
    #[test]
    fn every_flag_named_in_hints_exists() {
        let mut cli = Cli::command();
        let diagnose = cli.find_subcommand_mut("diagnose").unwrap();
        let longs: Vec<String> = diagnose
            .get_arguments()
            .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
            .collect();
        for flag in [
            ACCEPT_HOST_KEY_FLAG,
            IDENTITY_FLAG,
            INSECURE_TLS_FLAG,
            TIMEOUT_FLAG,
            TLS_CA_FLAG,
        ] {
            assert!(
                longs.iter().any(|l| l == flag),
                "{flag} is not a flag of diagnose: {longs:?}"
            );
        }
    }
}
