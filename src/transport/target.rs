//! Targets: where the site is and how to get there, parsed from what the user typed.
//!
//! See [`TARGET_HELP`] for the accepted spellings. SSH targets are completed from
//! `~/.ssh/config` exactly as `ssh` would (an explicit user or port in the target wins).

use std::fmt;
use std::path::PathBuf;

use super::options::PASSWORD_ENV;
use super::ssh_config::SshConfig;

/// The target forms, for `--help`.
pub const TARGET_HELP: &str = "\
TARGETS:
  sftp://USER@HOST[:PORT]/PATH         SFTP. PATH is absolute; /~/PATH is below the home folder
  ssh://USER@HOST[:PORT]/PATH          the same, and wprescue may also run commands there
  USER@HOST:PATH                       scp-style SSH; PATH is below the home folder unless it
                                       starts with /
  ALIAS[:PATH]                         a Host from ~/.ssh/config (HostName, User, Port,
                                       IdentityFile and ProxyJump are used)
  ftp://USER@HOST[:PORT]/PATH          plain FTP: the password crosses the network unencrypted.
                                       PATH is below the folder you land in after login;
                                       ftp://HOST//PATH is absolute
  ftps://USER@HOST[:PORT]/PATH         FTP with explicit TLS (AUTH TLS), usually port 21
  ftps-implicit://USER@HOST[:PORT]/PATH
                                       FTP with implicit TLS, usually port 990
  /PATH, ./PATH                        a folder on this machine (wprescue run on the server)

  Passwords never go into the target: wprescue prompts for them, or reads WPRESCUE_PASSWORD,
  or (FTP) ~/.netrc. Write an @ inside a user name as %40: ftp://me%40example.com@HOST/.

  Examples:
    wprescue diagnose sftp://wp@example.com/home/wp/public_html
    wprescue diagnose prod:public_html
    wprescue diagnose ftps://wp@ftp.example.com/public_html";

/// Where the site is and which protocol reaches it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// SFTP (and, if allowed, commands) over SSH.
    Ssh(SshTarget),
    /// FTP, with or without TLS.
    Ftp(FtpTarget),
    /// A folder on this machine.
    Local(LocalTarget),
}

/// An SSH target, completed from `~/.ssh/config`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SshTarget {
    /// The host to connect to (after `HostName`).
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Login name.
    pub user: String,
    /// The site folder: absolute, or relative to the home folder (empty: the home folder).
    pub root: String,
    /// Whether wprescue may run commands (`ssh://`, scp-style and aliases; not `sftp://`).
    pub exec: bool,
    /// `IdentityFile`s from `~/.ssh/config`.
    pub identity_files: Vec<PathBuf>,
    /// `IdentitiesOnly yes`: no agent keys.
    pub identities_only: bool,
    /// `UserKnownHostsFile`s from `~/.ssh/config`.
    pub known_hosts: Vec<PathBuf>,
    /// The host to reach this one through (`--jump`, `ProxyJump`): SSH to it first, then a
    /// `direct-tcpip` channel from it to this host, with both host keys checked.
    pub jump: Option<Box<SshTarget>>,
}

/// How FTP is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FtpTls {
    /// No TLS at all.
    None,
    /// `AUTH TLS` on a plain connection (`ftps://`).
    Explicit,
    /// TLS from the first byte (`ftps-implicit://`, port 990).
    Implicit,
}

/// An FTP target.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FtpTarget {
    /// Host name or address.
    pub host: String,
    /// TCP port.
    pub port: u16,
    /// Login name, if given (else from `~/.netrc`).
    pub user: Option<String>,
    /// The site folder: absolute, or relative to the login folder (empty: the login folder).
    pub root: String,
    /// TLS mode.
    pub tls: FtpTls,
}

/// A folder on this machine.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LocalTarget {
    /// The site folder.
    pub root: PathBuf,
}

/// Why a target cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TargetError {
    /// `user:password@host`.
    #[error(
        "the target contains a password; passwords never go on the command line (other users \
         can see it, and it stays in the shell history). Remove it and set {PASSWORD_ENV} or \
         answer the prompt"
    )]
    PasswordInTarget,
    /// An unknown `scheme://`.
    #[error("unknown scheme {scheme}://; use sftp://, ssh://, ftp://, ftps:// or ftps-implicit://")]
    UnknownScheme {
        /// The scheme as typed.
        scheme: String,
    },
    /// No host between `//` and the path.
    #[error("{target:?} names no host")]
    MissingHost {
        /// The target as typed.
        target: String,
    },
    /// A port that is not a number from 1 to 65535.
    #[error("{port:?} is not a port number")]
    BadPort {
        /// The port as typed.
        port: String,
    },
    /// A `%` escape that is not two hex digits or not UTF-8.
    #[error("{text:?} has a broken %-escape")]
    BadEscape {
        /// The part as typed.
        text: String,
    },
    /// No user in the target, the config, or the environment.
    #[error("no user name for {host}; write it into the target (USER@{host})")]
    NoUser {
        /// The host.
        host: String,
    },
    /// `~/.ssh/config` reaches this host through a command.
    #[error(
        "~/.ssh/config reaches {host} through `ProxyCommand {command}`, which wprescue cannot \
         run; give the jump host with --jump [USER@]HOST[:PORT] (or ProxyJump), or run \
         wprescue where {host} is reachable"
    )]
    ProxyCommand {
        /// The host as typed.
        host: String,
        /// The command.
        command: String,
    },
    /// More than one jump host.
    #[error(
        "{host} is reached through several jump hosts ({jumps}); wprescue goes through one: \
         run it on the first jump host, or give the last one with --jump"
    )]
    Jumps {
        /// The host as typed.
        host: String,
        /// The chain, as written.
        jumps: String,
    },
    /// `--jump` with a target that is not SSH.
    #[error("--jump goes with sftp:// and ssh:// targets, not {scheme}")]
    JumpNeedsSsh {
        /// The target's scheme.
        scheme: String,
    },
}

impl Target {
    /// This target reached through `jump` (`--jump [USER@]HOST[:PORT]`), which wins over a
    /// `ProxyJump` from `~/.ssh/config`.
    pub fn with_jump(self, jump: &str, ssh_config: &SshConfig) -> Result<Self, TargetError> {
        match self {
            Target::Ssh(target) => Ok(Target::Ssh(SshTarget {
                jump: Some(Box::new(jump_host(jump, ssh_config)?)),
                ..target
            })),
            Target::Ftp(target) => Err(TargetError::JumpNeedsSsh {
                scheme: match target.tls {
                    FtpTls::None => "ftp://",
                    FtpTls::Explicit => "ftps://",
                    FtpTls::Implicit => "ftps-implicit://",
                }
                .to_owned(),
            }),
            Target::Local(_) => Err(TargetError::JumpNeedsSsh {
                scheme: "a local folder".to_owned(),
            }),
        }
    }

    /// Parses what the user typed, completing SSH targets from `ssh_config`.
    pub fn parse(input: &str, ssh_config: &SshConfig) -> Result<Self, TargetError> {
        if let Some((scheme, rest)) = input.split_once("://") {
            return parse_url(&scheme.to_ascii_lowercase(), rest, ssh_config, input);
        }
        if input.starts_with(['/', '.', '~']) {
            return Ok(Self::Local(LocalTarget {
                root: expand_home(input),
            }));
        }
        // `user:password@host:path`: the first `:` comes before the first `@`.
        if let (Some(colon), Some(at)) = (input.find(':'), input.find('@'))
            && colon < at
        {
            return Err(TargetError::PasswordInTarget);
        }
        match input.split_once(':') {
            // A `[` starts an IPv6 address in scp syntax, whose colons are not the separator.
            Some(_) if input.starts_with('[') || input.contains("@[") => {
                let close = input.find(']').ok_or_else(|| TargetError::MissingHost {
                    target: input.to_owned(),
                })?;
                let (host_part, rest) = input.split_at(close + 1);
                let path = rest.strip_prefix(':').unwrap_or(rest);
                ssh_target(host_part, None, home_relative(path), true, ssh_config)
            }
            Some((host_part, path)) => {
                ssh_target(host_part, None, home_relative(path), true, ssh_config)
            }
            None if input.contains('@') || ssh_config.has_alias(input) => {
                ssh_target(input, None, String::new(), true, ssh_config)
            }
            None => Ok(Self::Local(LocalTarget {
                root: PathBuf::from(input),
            })),
        }
    }

    /// `scheme://user@host:port`, for messages (never with a password).
    pub fn origin(&self) -> String {
        match self {
            Self::Ssh(t) => {
                let scheme = if t.exec { "ssh" } else { "sftp" };
                origin(scheme, Some(&t.user), &t.host, t.port)
            }
            Self::Ftp(t) => {
                let scheme = match t.tls {
                    FtpTls::None => "ftp",
                    FtpTls::Explicit => "ftps",
                    FtpTls::Implicit => "ftps-implicit",
                };
                origin(scheme, t.user.as_deref(), &t.host, t.port)
            }
            Self::Local(_) => "file://localhost".to_owned(),
        }
    }
}

impl fmt::Display for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Ssh(SshTarget { root, .. }) | Self::Ftp(FtpTarget { root, .. }) => {
                write!(
                    f,
                    "{}{}{root}",
                    self.origin(),
                    if root.starts_with('/') { "" } else { "/~/" }
                )
            }
            Self::Local(t) => write!(f, "{}", t.root.display()),
        }
    }
}

/// `scheme://user@host:port`, with IPv6 addresses in brackets.
pub(crate) fn origin(scheme: &str, user: Option<&str>, host: &str, port: u16) -> String {
    let user = user.map(|u| format!("{u}@")).unwrap_or_default();
    if host.contains(':') {
        format!("{scheme}://{user}[{host}]:{port}")
    } else {
        format!("{scheme}://{user}{host}:{port}")
    }
}

fn parse_url(
    scheme: &str,
    rest: &str,
    ssh_config: &SshConfig,
    input: &str,
) -> Result<Target, TargetError> {
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], Some(&rest[i + 1..])),
        None => (rest, None),
    };
    let path = percent_decode(path.unwrap_or_default())?;
    match scheme {
        "sftp" | "ssh" => {
            // SFTP URLs are absolute; /~/ marks the home folder, as does no path at all.
            let root = match path.strip_prefix('~') {
                Some(home) => home.trim_start_matches('/').to_owned(),
                None if rest.contains('/') => format!("/{path}"),
                None => String::new(),
            };
            let (userhost, port) = split_port(authority)?;
            if userhost.is_empty() {
                return Err(TargetError::MissingHost {
                    target: input.to_owned(),
                });
            }
            ssh_target(userhost, port, root, scheme == "ssh", ssh_config)
        }
        "ftp" | "ftps" | "ftps-implicit" => {
            let tls = match scheme {
                "ftp" => FtpTls::None,
                "ftps" => FtpTls::Explicit,
                _ => FtpTls::Implicit,
            };
            let (userhost, port) = split_port(authority)?;
            let (user, host) = split_user(userhost)?;
            if host.is_empty() {
                return Err(TargetError::MissingHost {
                    target: input.to_owned(),
                });
            }
            Ok(Target::Ftp(FtpTarget {
                host,
                port: port.unwrap_or(if tls == FtpTls::Implicit { 990 } else { 21 }),
                user,
                // RFC 1738: the path is below the login folder; a further `/` (or %2F) makes
                // it absolute, as in curl.
                root: path,
                tls,
            }))
        }
        "file" => Ok(Target::Local(LocalTarget {
            root: PathBuf::from(format!("/{path}")),
        })),
        _ => Err(TargetError::UnknownScheme {
            scheme: scheme.to_owned(),
        }),
    }
}

fn ssh_target(
    userhost: &str,
    port: Option<u16>,
    root: String,
    exec: bool,
    ssh_config: &SshConfig,
) -> Result<Target, TargetError> {
    let (user, host) = split_user(userhost)?;
    let config = ssh_config.resolve(&host);
    if let Some(command) = config.proxy_command {
        return Err(TargetError::ProxyCommand { host, command });
    }
    let jump = match config.proxy_jump {
        Some(jumps) if jumps.contains(',') => return Err(TargetError::Jumps { host, jumps }),
        Some(spec) => Some(Box::new(jump_host(&spec, ssh_config)?)),
        None => None,
    };
    let user = user
        .or(config.user)
        .or_else(|| ssh_config.local_user().map(str::to_owned))
        .ok_or_else(|| TargetError::NoUser { host: host.clone() })?;
    Ok(Target::Ssh(SshTarget {
        host: config.hostname.unwrap_or(host),
        port: port.or(config.port).unwrap_or(22),
        user,
        root,
        exec,
        identity_files: config.identity_files,
        identities_only: config.identities_only,
        known_hosts: config.known_hosts,
        jump,
    }))
}

/// A jump host as `ProxyJump` and `--jump` write it: `[USER@]HOST[:PORT]` or
/// `ssh://[USER@]HOST[:PORT]`, completed from `~/.ssh/config` like any host (its own
/// `ProxyJump` included, so a chain shows as such).
fn jump_host(spec: &str, ssh_config: &SshConfig) -> Result<SshTarget, TargetError> {
    let authority = spec
        .strip_prefix("ssh://")
        .unwrap_or(spec)
        .trim_end_matches('/');
    let (userhost, port) = split_port(authority)?;
    if userhost.is_empty() {
        return Err(TargetError::MissingHost {
            target: spec.to_owned(),
        });
    }
    match ssh_target(userhost, port, String::new(), false, ssh_config)? {
        Target::Ssh(jump) if jump.jump.is_some() => Err(TargetError::Jumps {
            host: jump.host.clone(),
            jumps: format!("{spec} and its own ProxyJump"),
        }),
        Target::Ssh(jump) => Ok(jump),
        _ => unreachable!("ssh_target makes SSH targets"),
    }
}

/// `user@host` → (user, host); the last `@` separates, so a user may contain one.
fn split_user(userhost: &str) -> Result<(Option<String>, String), TargetError> {
    let (user, host) = match userhost.rsplit_once('@') {
        Some((user, host)) => (Some(user), host),
        None => (None, userhost),
    };
    if user.is_some_and(|u| u.contains(':')) {
        return Err(TargetError::PasswordInTarget);
    }
    let host = host
        .trim_start_matches('[')
        .trim_end_matches(']')
        .to_owned();
    Ok((user.map(percent_decode).transpose()?, host))
}

/// `host:port` or `[v6]:port` → (`host`, port).
fn split_port(authority: &str) -> Result<(&str, Option<u16>), TargetError> {
    let after_host = authority
        .rfind(']')
        .map_or(authority.rfind('@').map_or(0, |at| at + 1), |close| {
            close + 1
        });
    match authority[after_host..].find(':') {
        Some(i) => {
            let port = &authority[after_host + i + 1..];
            let number = port.parse::<u16>().ok().filter(|&p| p > 0).ok_or_else(|| {
                TargetError::BadPort {
                    port: port.to_owned(),
                }
            })?;
            Ok((&authority[..after_host + i], Some(number)))
        }
        None => Ok((authority, None)),
    }
}

/// scp paths are below the home folder unless absolute; `~/` says so explicitly.
fn home_relative(path: &str) -> String {
    match path.strip_prefix('~') {
        Some(rest) => rest.trim_start_matches('/').to_owned(),
        None => path.to_owned(),
    }
}

fn expand_home(path: &str) -> PathBuf {
    match (path.strip_prefix('~'), std::env::home_dir()) {
        (Some(rest), Some(home)) => home.join(rest.trim_start_matches('/')),
        _ => PathBuf::from(path),
    }
}

fn percent_decode(text: &str) -> Result<String, TargetError> {
    let bad = || TargetError::BadEscape {
        text: text.to_owned(),
    };
    let bytes = text.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = text.get(i + 1..i + 3).ok_or_else(bad)?;
            out.push(u8::from_str_radix(hex, 16).map_err(|_| bad())?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    const CONFIG: &str = "\
Host prod
    HostName 203.0.113.7
    User deploy
    Port 2222
    IdentityFile ~/.ssh/prod_key
    IdentitiesOnly yes
Host behind
    ProxyJump jumper@bastion:2200
Host chained
    ProxyJump a,b
Host commanded
    ProxyCommand ssh -W %h:%p gate
Host *
    UserKnownHostsFile ~/.ssh/known_hosts ~/.ssh/known_hosts2
";

    fn config() -> SshConfig {
        SshConfig::parse(CONFIG, Path::new("/home/me"), Some("me".into()))
    }

    fn parse(s: &str) -> Target {
        Target::parse(s, &config()).unwrap_or_else(|e| panic!("{s}: {e}"))
    }

    fn ssh(s: &str) -> SshTarget {
        match parse(s) {
            Target::Ssh(t) => t,
            other => panic!("{s}: {other:?}"),
        }
    }

    fn ftp(s: &str) -> FtpTarget {
        match parse(s) {
            Target::Ftp(t) => t,
            other => panic!("{s}: {other:?}"),
        }
    }

    #[test]
    fn sftp_url() {
        let t = ssh("sftp://wp@example.com:2222/home/wp/public_html");
        assert_eq!(
            (
                t.user.as_str(),
                t.host.as_str(),
                t.port,
                t.root.as_str(),
                t.exec
            ),
            ("wp", "example.com", 2222, "/home/wp/public_html", false)
        );
        assert_eq!(
            parse("sftp://wp@example.com:2222/home/wp/public_html").to_string(),
            "sftp://wp@example.com:2222/home/wp/public_html"
        );
        assert_eq!(
            ssh("sftp://wp@example.com/~/public_html").root,
            "public_html"
        );
        assert_eq!(
            ssh("sftp://wp@example.com").root,
            "",
            "no path: the home folder"
        );
        assert_eq!(ssh("sftp://wp@example.com/").root, "/");
        assert_eq!(
            ssh("sftp://example.com/x").user,
            "me",
            "default user is $USER"
        );
        assert_eq!(
            ssh("sftp://example.com/x").known_hosts,
            [
                PathBuf::from("/home/me/.ssh/known_hosts"),
                PathBuf::from("/home/me/.ssh/known_hosts2")
            ]
        );
    }

    #[test]
    fn ssh_url_allows_exec_and_decodes_paths() {
        let t = ssh("ssh://wp@example.com/srv/my%20site/ünï");
        assert!(t.exec);
        assert_eq!(t.root, "/srv/my site/ünï");
        assert_eq!(
            parse("ssh://wp@example.com/x").origin(),
            "ssh://wp@example.com:22"
        );
    }

    #[test]
    fn ipv6_hosts() {
        let t = ssh("sftp://wp@[2001:db8::1]:2200/site");
        assert_eq!((t.host.as_str(), t.port), ("2001:db8::1", 2200));
        assert_eq!(
            parse("sftp://wp@[2001:db8::1]:2200/site").origin(),
            "sftp://wp@[2001:db8::1]:2200"
        );
        let t = ssh("wp@[2001:db8::1]:public_html");
        assert_eq!(
            (t.host.as_str(), t.root.as_str()),
            ("2001:db8::1", "public_html")
        );
    }

    #[test]
    fn ftp_urls() {
        let t = ftp("ftp://wp@ftp.example.com/public_html");
        assert_eq!(
            (t.port, t.root.as_str(), t.tls),
            (21, "public_html", FtpTls::None)
        );
        let t = ftp("ftps://wp@ftp.example.com:2990/public_html");
        assert_eq!((t.port, t.tls), (2990, FtpTls::Explicit));
        let t = ftp("ftps-implicit://wp@ftp.example.com/");
        assert_eq!(
            (t.port, t.root.as_str(), t.tls),
            (990, "", FtpTls::Implicit)
        );
        assert_eq!(
            ftp("ftp://h//srv/site").root,
            "/srv/site",
            "double slash: absolute"
        );
        assert_eq!(
            ftp("ftp://h/%2Fsrv/site").root,
            "/srv/site",
            "%2F: absolute (curl)"
        );
        let t = ftp("FTP://me%40example.com@ftp.example.com/");
        assert_eq!(t.user.as_deref(), Some("me@example.com"));
        let t = ftp("ftp://a@b@ftp.example.com/");
        assert_eq!(
            (t.user.as_deref(), t.host.as_str()),
            (Some("a@b"), "ftp.example.com")
        );
        assert_eq!(
            ftp("ftp://ftp.example.com").user,
            None,
            "from ~/.netrc later"
        );
        assert_eq!(
            parse("ftps-implicit://wp@h/public_html").to_string(),
            "ftps-implicit://wp@h:990/~/public_html"
        );
    }

    #[test]
    fn scp_style() {
        let t = ssh("wp@example.com:public_html");
        assert_eq!(
            (
                t.user.as_str(),
                t.host.as_str(),
                t.port,
                t.root.as_str(),
                t.exec
            ),
            ("wp", "example.com", 22, "public_html", true)
        );
        assert_eq!(ssh("wp@example.com:/var/www").root, "/var/www");
        assert_eq!(ssh("wp@example.com:~/site").root, "site");
        assert_eq!(ssh("example.com:").root, "");
        assert_eq!(
            ssh("wp@example.com").root,
            "",
            "user@host alone: the home folder"
        );
    }

    #[test]
    fn ssh_config_alias() {
        let t = ssh("prod:public_html");
        assert_eq!(
            (t.user.as_str(), t.host.as_str(), t.port, t.root.as_str()),
            ("deploy", "203.0.113.7", 2222, "public_html")
        );
        assert_eq!(t.identity_files, [PathBuf::from("/home/me/.ssh/prod_key")]);
        assert!(t.identities_only);
        let t = ssh("prod");
        assert_eq!((t.host.as_str(), t.root.as_str()), ("203.0.113.7", ""));
        let t = ssh("other@prod:x");
        assert_eq!(t.user, "other", "the target's user wins over User");
        let t = ssh("sftp://prod:2022/srv");
        assert_eq!(
            (t.host.as_str(), t.port),
            ("203.0.113.7", 2022),
            "and its port over Port"
        );
    }

    #[test]
    fn local_paths() {
        assert_eq!(
            parse("/var/www/html"),
            Target::Local(LocalTarget {
                root: "/var/www/html".into()
            })
        );
        assert_eq!(
            parse("./site"),
            Target::Local(LocalTarget {
                root: "./site".into()
            })
        );
        assert_eq!(
            parse("public_html"),
            Target::Local(LocalTarget {
                root: "public_html".into()
            }),
            "a bare word that is no alias is a local folder"
        );
        assert_eq!(
            parse("file:///srv/site"),
            Target::Local(LocalTarget {
                root: "/srv/site".into()
            })
        );
    }

    #[test]
    fn jump_hosts_from_the_config_or_the_flag() {
        let behind = ssh("behind:site");
        let jump = behind.jump.expect("ProxyJump");
        assert_eq!(
            (jump.user.as_str(), jump.host.as_str(), jump.port),
            ("jumper", "bastion", 2200)
        );
        assert_eq!(
            jump.known_hosts.len(),
            2,
            "Host * applies to the jump host too"
        );
        let flagged = Target::parse("sftp://wp@site.internal/x", &config())
            .unwrap()
            .with_jump("ssh://prod", &config())
            .unwrap();
        let Target::Ssh(flagged) = flagged else {
            panic!("{flagged:?}")
        };
        let jump = flagged.jump.expect("--jump");
        assert_eq!(
            (jump.user.as_str(), jump.host.as_str(), jump.port),
            ("deploy", "203.0.113.7", 2222),
            "the jump host's own config applies"
        );
        assert!(matches!(
            parse("ftp://h/").with_jump("bastion", &config()),
            Err(TargetError::JumpNeedsSsh { .. })
        ));
        assert!(ssh("sftp://wp@h/").jump.is_none());
    }

    #[test]
    fn refusals() {
        let err = |s: &str| Target::parse(s, &config()).unwrap_err();
        assert_eq!(err("ftp://wp:hunter2@h/"), TargetError::PasswordInTarget);
        assert_eq!(err("wp:hunter2@h:site"), TargetError::PasswordInTarget);
        assert!(!err("ftp://wp:hunter2@h/").to_string().contains("hunter2"));
        assert!(matches!(
            err("gopher://h/"),
            TargetError::UnknownScheme { .. }
        ));
        assert!(matches!(
            err("sftp://h:99999/"),
            TargetError::BadPort { .. }
        ));
        assert!(matches!(err("sftp://h:0/"), TargetError::BadPort { .. }));
        assert!(matches!(err("ftp:///x"), TargetError::MissingHost { .. }));
        assert!(matches!(err("ftp://h/%zz"), TargetError::BadEscape { .. }));
        assert!(matches!(err("chained:site"), TargetError::Jumps { .. }));
        assert!(matches!(
            err("commanded:site"),
            TargetError::ProxyCommand { .. }
        ));
        let no_user = SshConfig::parse("", Path::new("/"), None);
        assert!(matches!(
            Target::parse("sftp://h/x", &no_user),
            Err(TargetError::NoUser { .. })
        ));
    }

    #[test]
    fn help_lists_every_scheme() {
        for scheme in [
            "sftp://",
            "ssh://",
            "ftp://",
            "ftps://",
            "ftps-implicit://",
            "USER@HOST:PATH",
        ] {
            assert!(TARGET_HELP.contains(scheme), "{scheme}");
        }
    }
}
