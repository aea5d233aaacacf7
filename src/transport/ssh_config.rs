//! `~/.ssh/config`: the aliases users already type for `ssh` and `scp`.
//!
//! Read: `Host` blocks (patterns with `*`, `?` and `!`), `Match all` and `Match host`,
//! `Include` (with wildcards), and the keywords wprescue uses: `HostName`, `User`, `Port`,
//! `IdentityFile`, `IdentitiesOnly`, `UserKnownHostsFile`, `ProxyJump` (one jump host, used)
//! and `ProxyCommand` (refused, rather than the host silently dialled directly). As in
//! OpenSSH the first value found wins, except `IdentityFile`, which adds up.
//! Other `Match` criteria never match (wprescue cannot evaluate `exec` and the like).

use std::fs;
use std::path::{Path, PathBuf};

/// Nesting limit for `Include`, as in OpenSSH.
const MAX_INCLUDE_DEPTH: usize = 16;

/// A parsed ssh client configuration.
#[derive(Debug, Clone, Default)]
pub struct SshConfig {
    blocks: Vec<Block>,
    home: PathBuf,
    local_user: Option<String>,
}

#[derive(Debug, Clone)]
enum Condition {
    Always,
    Hosts(Vec<String>),
    Never,
}

#[derive(Debug, Clone)]
struct Block {
    condition: Condition,
    options: Vec<(String, Vec<String>)>,
}

/// The settings `~/.ssh/config` gives for one host, tokens (`%h`, `%d`, `~`, ...) expanded.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SshHostConfig {
    /// `HostName`: the real host to connect to.
    pub hostname: Option<String>,
    /// `User`.
    pub user: Option<String>,
    /// `Port`.
    pub port: Option<u16>,
    /// Every `IdentityFile`, in order.
    pub identity_files: Vec<PathBuf>,
    /// `IdentitiesOnly yes`: use only these files, not the agent's other keys.
    pub identities_only: bool,
    /// `UserKnownHostsFile`.
    pub known_hosts: Vec<PathBuf>,
    /// `ProxyJump`: the jump host(s), as written.
    pub proxy_jump: Option<String>,
    /// `ProxyCommand`, which wprescue cannot honour.
    pub proxy_command: Option<String>,
}

impl SshConfig {
    /// `~/.ssh/config` of the current user; empty if there is none.
    pub fn load_user() -> std::io::Result<Self> {
        let home = std::env::home_dir().unwrap_or_default();
        let local_user = std::env::var("USER")
            .or_else(|_| std::env::var("LOGNAME"))
            .ok();
        let path = home.join(".ssh/config");
        let text = match fs::read_to_string(&path) {
            Ok(text) => text,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
            Err(e) => return Err(e),
        };
        Ok(Self::parse(&text, &home, local_user))
    }

    /// Parses config `text`; `home` anchors `~` and relative `Include`s, `local_user` is the
    /// default remote user (as `ssh` uses `$USER`).
    pub fn parse(text: &str, home: &Path, local_user: Option<String>) -> Self {
        let mut config = Self {
            blocks: vec![Block {
                condition: Condition::Always,
                options: Vec::new(),
            }],
            home: home.to_owned(),
            local_user,
        };
        config.parse_into(text, Condition::Always, 0);
        config
    }

    /// The user to log in as when neither the target nor the config names one.
    pub fn local_user(&self) -> Option<&str> {
        self.local_user.as_deref()
    }

    /// Whether `name` is spelled out (no wildcards) in some `Host` line: only such names are
    /// taken as SSH targets when written without `user@` or `:`.
    pub fn has_alias(&self, name: &str) -> bool {
        self.blocks.iter().any(|b| match &b.condition {
            Condition::Hosts(patterns) => patterns.iter().any(|p| {
                !p.starts_with('!') && !p.contains(['*', '?']) && p.eq_ignore_ascii_case(name)
            }),
            _ => false,
        })
    }

    /// The settings for `host` (as typed: an alias or a host name).
    pub fn resolve(&self, host: &str) -> SshHostConfig {
        let mut out = SshHostConfig::default();
        let mut seen = std::collections::HashSet::new();
        for block in self.blocks.iter().filter(|b| b.condition.matches(host)) {
            for (key, args) in &block.options {
                let Some(first) = args.first() else { continue };
                if key == "identityfile" {
                    out.identity_files.push(self.expand_path(first, host));
                    continue;
                }
                if !seen.insert(key.as_str()) {
                    continue;
                }
                match key.as_str() {
                    "hostname" => out.hostname = Some(first.replace("%h", host)),
                    "user" => out.user = Some(first.clone()),
                    "port" => out.port = first.parse().ok(),
                    "identitiesonly" => out.identities_only = first.eq_ignore_ascii_case("yes"),
                    "userknownhostsfile" => {
                        out.known_hosts = args
                            .iter()
                            .filter(|a| !a.eq_ignore_ascii_case("none"))
                            .map(|a| self.expand_path(a, host))
                            .collect();
                    }
                    "proxyjump" if !first.eq_ignore_ascii_case("none") => {
                        out.proxy_jump = Some(args.join(","));
                    }
                    "proxycommand" if !first.eq_ignore_ascii_case("none") => {
                        out.proxy_command = Some(args.join(" "));
                    }
                    _ => {}
                }
            }
        }
        out
    }

    fn parse_into(&mut self, text: &str, mut condition: Condition, depth: usize) {
        for line in text.lines() {
            let Some((key, args)) = split_line(line) else {
                continue;
            };
            match key.as_str() {
                "host" => {
                    condition = Condition::Hosts(args);
                    self.start_block(condition.clone());
                }
                "match" => {
                    condition = match args.first().map(|a| a.to_ascii_lowercase()).as_deref() {
                        Some("all") => Condition::Always,
                        Some("host") => Condition::Hosts(
                            args.iter()
                                .skip(1)
                                .flat_map(|a| a.split(','))
                                .map(str::to_owned)
                                .collect(),
                        ),
                        _ => Condition::Never,
                    };
                    self.start_block(condition.clone());
                }
                "include" if depth < MAX_INCLUDE_DEPTH => {
                    let files: Vec<PathBuf> =
                        args.iter().flat_map(|a| self.include_files(a)).collect();
                    for file in files {
                        if let Ok(included) = fs::read_to_string(&file) {
                            self.parse_into(&included, condition.clone(), depth + 1);
                        }
                    }
                    // Lines after the Include belong to the block it appeared in.
                    self.start_block(condition.clone());
                }
                _ => self
                    .blocks
                    .last_mut()
                    .expect("there is always a block")
                    .options
                    .push((key, args)),
            }
        }
    }

    fn start_block(&mut self, condition: Condition) {
        self.blocks.push(Block {
            condition,
            options: Vec::new(),
        });
    }

    /// The files an `Include` argument names: `~` expanded, relative to `~/.ssh`, with `*` and
    /// `?` in the file name.
    fn include_files(&self, arg: &str) -> Vec<PathBuf> {
        let path = self.expand_tilde(arg);
        let path = if path.is_absolute() {
            path
        } else {
            self.home.join(".ssh").join(path)
        };
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned());
        match (path.parent(), name) {
            (Some(dir), Some(name)) if name.contains(['*', '?']) => {
                let mut files: Vec<PathBuf> = fs::read_dir(dir)
                    .into_iter()
                    .flatten()
                    .flatten()
                    .filter(|e| wildcard_match(&name, &e.file_name().to_string_lossy()))
                    .map(|e| e.path())
                    .collect();
                files.sort();
                files
            }
            _ => vec![path],
        }
    }

    fn expand_tilde(&self, value: &str) -> PathBuf {
        match value.strip_prefix("~/") {
            Some(rest) => self.home.join(rest),
            None => PathBuf::from(value),
        }
    }

    fn expand_path(&self, value: &str, host: &str) -> PathBuf {
        let mut out = String::new();
        let mut chars = value.chars();
        while let Some(c) = chars.next() {
            if c != '%' {
                out.push(c);
                continue;
            }
            match chars.next() {
                Some('d') => out.push_str(&self.home.to_string_lossy()),
                Some('h') | Some('n') => out.push_str(host),
                Some('u') => out.push_str(self.local_user.as_deref().unwrap_or_default()),
                Some('%') => out.push('%'),
                Some(other) => {
                    out.push('%');
                    out.push(other);
                }
                None => out.push('%'),
            }
        }
        self.expand_tilde(&out)
    }
}

impl Condition {
    fn matches(&self, host: &str) -> bool {
        match self {
            Self::Always => true,
            Self::Never => false,
            Self::Hosts(patterns) => pattern_list_matches(patterns, host),
        }
    }
}

/// OpenSSH's pattern-list rule: no negated pattern may match, and some plain one must.
pub(crate) fn pattern_list_matches<S: AsRef<str>>(patterns: &[S], name: &str) -> bool {
    let mut positive = false;
    for pattern in patterns {
        match pattern.as_ref().strip_prefix('!') {
            Some(negated) if wildcard_match(negated, name) => return false,
            Some(_) => {}
            None => positive |= wildcard_match(pattern.as_ref(), name),
        }
    }
    positive
}

/// `*` (any run) and `?` (one character), case-insensitive, as host names are.
pub(crate) fn wildcard_match(pattern: &str, text: &str) -> bool {
    let p: Vec<char> = pattern.to_lowercase().chars().collect();
    let t: Vec<char> = text.to_lowercase().chars().collect();
    // Classic two-pointer glob with backtracking to the last `*`.
    let (mut pi, mut ti) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while ti < t.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == t[ti]) {
            pi += 1;
            ti += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some((pi, ti));
            pi += 1;
        } else if let Some((sp, st)) = star {
            pi = sp + 1;
            ti = st + 1;
            star = Some((sp, st + 1));
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|&c| c == '*')
}

/// `Keyword args...` or `Keyword=args...`, keyword lower-cased, double quotes honoured.
fn split_line(line: &str) -> Option<(String, Vec<String>)> {
    let line = line.trim();
    if line.is_empty() || line.starts_with('#') {
        return None;
    }
    let split = line.find(|c: char| c.is_whitespace() || c == '=')?;
    let key = line[..split].to_ascii_lowercase();
    let rest = line[split..]
        .trim_start()
        .trim_start_matches('=')
        .trim_start();
    let mut args = Vec::new();
    let mut current = String::new();
    let (mut quoted, mut any) = (false, false);
    for c in rest.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                any = true;
            }
            c if c.is_whitespace() && !quoted => {
                if any {
                    args.push(std::mem::take(&mut current));
                    any = false;
                }
            }
            c => {
                current.push(c);
                any = true;
            }
        }
    }
    if any {
        args.push(current);
    }
    Some((key, args))
}

#[cfg(test)]
mod tests {
    use super::*;

    const CONFIG: &str = r#"
# Production: the host the admin usually works on.
Host prod www.example.com
    HostName 203.0.113.7
    User deploy
    Port 2222
    IdentityFile ~/.ssh/prod_ed25519
    IdentitiesOnly yes

Host *.example.com !internal.example.com
    User webmaster
    IdentityFile %d/.ssh/%h.key

Host jump-only
    ProxyJump bastion.example.com

Host quoted
    HostName "with space.example"
    UserKnownHostsFile=~/.ssh/kh1 "/etc/ssh kh2"

Match all
    Port 2200
    IdentityFile ~/.ssh/id_default
"#;

    fn config() -> SshConfig {
        SshConfig::parse(CONFIG, Path::new("/home/me"), Some("me".into()))
    }

    #[test]
    fn alias_resolves_hostname_user_port_and_keys() {
        let c = config().resolve("prod");
        assert_eq!(c.hostname.as_deref(), Some("203.0.113.7"));
        assert_eq!(c.user.as_deref(), Some("deploy"));
        assert_eq!(c.port, Some(2222), "the first Port wins over Match all");
        assert_eq!(
            c.identity_files,
            [
                PathBuf::from("/home/me/.ssh/prod_ed25519"),
                PathBuf::from("/home/me/.ssh/id_default")
            ],
            "IdentityFile adds up"
        );
        assert!(c.identities_only);
    }

    #[test]
    fn first_matching_block_wins_and_tokens_expand() {
        let c = config().resolve("www.example.com");
        assert_eq!(c.user.as_deref(), Some("deploy"));
        let c = config().resolve("shop.EXAMPLE.com");
        assert_eq!(c.hostname, None);
        assert_eq!(c.user.as_deref(), Some("webmaster"));
        assert_eq!(c.port, Some(2200));
        assert_eq!(
            c.identity_files[0],
            PathBuf::from("/home/me/.ssh/shop.EXAMPLE.com.key")
        );
        let c = config().resolve("internal.example.com");
        assert_eq!(c.user, None, "negated pattern excludes the block");
    }

    #[test]
    fn proxies_quotes_and_equals() {
        assert_eq!(
            config().resolve("jump-only").proxy_jump.as_deref(),
            Some("bastion.example.com")
        );
        let c = config().resolve("quoted");
        assert_eq!(c.hostname.as_deref(), Some("with space.example"));
        assert_eq!(
            c.known_hosts,
            [
                PathBuf::from("/home/me/.ssh/kh1"),
                PathBuf::from("/etc/ssh kh2")
            ]
        );
    }

    #[test]
    fn only_spelled_out_hosts_are_aliases() {
        let c = config();
        assert!(c.has_alias("prod") && c.has_alias("PROD") && c.has_alias("jump-only"));
        assert!(
            !c.has_alias("shop.example.com"),
            "matched only by a wildcard"
        );
        assert!(!c.has_alias("nowhere"));
    }

    #[test]
    fn include_with_wildcards_applies_in_place() {
        let home = tempfile::tempdir().unwrap();
        let ssh = home.path().join(".ssh");
        fs::create_dir_all(ssh.join("config.d")).unwrap();
        fs::write(
            ssh.join("config.d/10-site"),
            "Host site\n  HostName site.example\n",
        )
        .unwrap();
        fs::write(ssh.join("config.d/20-other"), "Host other\n  Port 2022\n").unwrap();
        fs::write(ssh.join("config.d/README"), "Host site\n  HostName wrong\n").unwrap();
        let text = "Include config.d/*-*\nHost site\n  User included-later\n";
        let c = SshConfig::parse(text, home.path(), None);
        let site = c.resolve("site");
        assert_eq!(site.hostname.as_deref(), Some("site.example"));
        assert_eq!(site.user.as_deref(), Some("included-later"));
        assert_eq!(c.resolve("other").port, Some(2022));
        assert!(c.has_alias("other"));
    }

    #[test]
    fn wildcards() {
        assert!(wildcard_match("*.example.com", "a.b.example.com"));
        assert!(wildcard_match("web?", "web1"));
        assert!(!wildcard_match("web?", "web12"));
        assert!(wildcard_match("[127.0.0.1]:2222", "[127.0.0.1]:2222"));
        assert!(wildcard_match("*", ""));
        assert!(pattern_list_matches(&["*", "!secret"], "open"));
        assert!(!pattern_list_matches(&["*", "!secret"], "secret"));
        assert!(
            !pattern_list_matches(&["!secret"], "open"),
            "negation alone matches nothing"
        );
    }
}
