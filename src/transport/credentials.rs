//! Passwords and key passphrases: where they come from, and how they are kept out of sight.
//!
//! Sources, in order: a value the caller set (the CLI reads [`PASSWORD_ENV`] and
//! [`KEY_PASSPHRASE_ENV`]), `~/.netrc` for FTP, then an interactive prompt on the terminal.
//! Never the command line: arguments are visible to every user of the machine (`ps`) and end
//! up in shell history. Secrets are only asked for when a server wants one, so an SSH key
//! login never prompts for a password.

use std::fmt;
use std::fs;
use std::path::{Path, PathBuf};

use super::options::{KEY_PASSPHRASE_ENV, PASSWORD_ENV};

/// A password or passphrase. Its `Debug` shows nothing, and no error ever contains one.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The value, for handing to the server.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(****)")
    }
}

/// Where passwords and passphrases come from, asked only when a server wants one.
#[derive(Debug, Clone, Default)]
pub struct Credentials {
    password: Option<Secret>,
    key_passphrase: Option<Secret>,
    netrc: Option<PathBuf>,
    agent: Option<PathBuf>,
    interactive: bool,
}

impl Credentials {
    /// No secrets and no agent: only unencrypted key files can log in.
    pub fn none() -> Self {
        Self::default()
    }

    /// The standard sources: [`PASSWORD_ENV`], [`KEY_PASSPHRASE_ENV`], `$NETRC` or
    /// `~/.netrc` (FTP only), ssh-agent at `$SSH_AUTH_SOCK` and, if `interactive`, a prompt
    /// on the terminal.
    pub fn from_env(interactive: bool) -> Self {
        let var = |name| std::env::var(name).ok().filter(|v| !v.is_empty());
        Self {
            password: var(PASSWORD_ENV).map(Secret),
            key_passphrase: var(KEY_PASSPHRASE_ENV).map(Secret),
            netrc: var("NETRC")
                .map(PathBuf::from)
                .or_else(|| std::env::home_dir().map(|h| h.join(".netrc"))),
            agent: var("SSH_AUTH_SOCK").map(PathBuf::from),
            interactive,
        }
    }

    /// Uses `password` for SSH password logins and FTP.
    pub fn with_password(mut self, password: Secret) -> Self {
        self.password = Some(password);
        self
    }

    /// Uses `passphrase` for encrypted SSH keys.
    pub fn with_key_passphrase(mut self, passphrase: Secret) -> Self {
        self.key_passphrase = Some(passphrase);
        self
    }

    /// Reads FTP logins from this netrc file.
    pub fn with_netrc(mut self, path: impl Into<PathBuf>) -> Self {
        self.netrc = Some(path.into());
        self
    }

    /// Asks the ssh-agent listening on `socket` for keys.
    pub fn with_agent(mut self, socket: impl Into<PathBuf>) -> Self {
        self.agent = Some(socket.into());
        self
    }

    /// The same sources without the password: for a jump host, which must not see the
    /// target's password (it is asked for on the terminal, if at all).
    pub(crate) fn without_password(&self) -> Credentials {
        Credentials {
            password: None,
            ..self.clone()
        }
    }

    /// The ssh-agent socket, if any.
    pub(crate) fn agent_socket(&self) -> Option<PathBuf> {
        self.agent.clone()
    }

    /// The password for `what` (e.g. `wp@example.com`): the one set, else a prompt.
    pub(crate) fn password(&mut self, what: &str) -> Option<Secret> {
        if self.password.is_none() {
            self.password = self.prompt(&format!("Password for {what}: "));
        }
        self.password.clone()
    }

    /// User and password for an FTP login to `host`: a set password wins, then a matching
    /// `~/.netrc` entry, then a prompt. `user` is the one from the target, if any.
    pub(crate) fn ftp_login(
        &mut self,
        host: &str,
        user: Option<&str>,
    ) -> (Option<String>, Option<Secret>) {
        if self.password.is_none()
            && let Some((login, password)) = self.netrc_entry(host, user)
        {
            return (user.map(str::to_owned).or(login), password);
        }
        let Some(user) = user
            .map(str::to_owned)
            .or_else(|| self.netrc_entry(host, None).and_then(|(login, _)| login))
        else {
            return (None, None);
        };
        let password = self.password(&format!("{user}@{host}"));
        (Some(user), password)
    }

    /// Whether [`Credentials::key_passphrase`] would answer without a prompt.
    pub(crate) fn has_key_passphrase(&self) -> bool {
        self.key_passphrase.is_some()
    }

    /// The passphrase for encrypted key file `key`.
    pub(crate) fn key_passphrase(&mut self, key: &Path) -> Option<Secret> {
        if self.key_passphrase.is_none() {
            self.key_passphrase = self.prompt(&format!("Passphrase for key {}: ", key.display()));
        }
        self.key_passphrase.clone()
    }

    fn prompt(&self, prompt: &str) -> Option<Secret> {
        if !self.interactive {
            return None;
        }
        // rpassword reads from the terminal itself, with echo off; no terminal, no prompt.
        rpassword::prompt_password(prompt).ok().map(Secret)
    }

    fn netrc_entry(
        &self,
        host: &str,
        user: Option<&str>,
    ) -> Option<(Option<String>, Option<Secret>)> {
        let text = fs::read_to_string(self.netrc.as_ref()?).ok()?;
        netrc_lookup(&text, host, user)
    }
}

/// The `(login, password)` of the first netrc entry for `host` (and `user`, if given), or of
/// the `default` entry.
fn netrc_lookup(
    text: &str,
    host: &str,
    user: Option<&str>,
) -> Option<(Option<String>, Option<Secret>)> {
    #[derive(Default)]
    struct Entry {
        machine: Option<String>,
        login: Option<String>,
        password: Option<String>,
    }
    let mut entries: Vec<Entry> = Vec::new();
    let mut tokens = text.split_whitespace();
    while let Some(token) = tokens.next() {
        match token {
            "machine" => entries.push(Entry {
                machine: tokens.next().map(str::to_owned),
                ..Entry::default()
            }),
            "default" => entries.push(Entry::default()),
            "login" | "password" | "account" => {
                let value = tokens.next().map(str::to_owned);
                if let Some(entry) = entries.last_mut() {
                    match token {
                        "login" => entry.login = value,
                        "password" => entry.password = value,
                        _ => {}
                    }
                }
            }
            // A macro runs to the next empty line; tokens cannot see lines, so skip to the
            // next keyword that starts an entry.
            "macdef" => {
                for t in tokens.by_ref() {
                    if t == "machine" || t == "default" {
                        break;
                    }
                }
            }
            _ => {}
        }
    }
    let fits = |e: &&Entry| user.is_none_or(|u| e.login.as_deref().is_none_or(|l| l == u));
    entries
        .iter()
        .filter(|e| {
            e.machine
                .as_deref()
                .is_some_and(|m| m.eq_ignore_ascii_case(host))
        })
        .find(fits)
        .or_else(|| entries.iter().filter(|e| e.machine.is_none()).find(fits))
        .map(|e| (e.login.clone(), e.password.clone().map(Secret)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_jump_host_gets_everything_but_the_password() {
        let mine = Credentials::none()
            .with_password(Secret::new("target's"))
            .with_key_passphrase(Secret::new("key's"))
            .with_agent("/run/agent.sock");
        let mut jump = mine.without_password();
        assert!(
            jump.password("jump@bastion").is_none(),
            "not interactive: no prompt"
        );
        assert_eq!(jump.agent_socket(), mine.agent_socket());
        assert_eq!(
            jump.key_passphrase(Path::new("k"))
                .map(|p| p.expose().to_owned()),
            Some("key's".to_owned())
        );
    }

    const NETRC: &str = "\
machine ftp.example.com login alice password s3cret
machine ftp.example.com
  login bob
  password hunter2
machine other.example.com login carol password x
default login anonymous password guest@
";

    fn lookup(host: &str, user: Option<&str>) -> Option<(Option<String>, Option<String>)> {
        netrc_lookup(NETRC, host, user).map(|(l, p)| (l, p.map(|p| p.expose().to_owned())))
    }

    #[test]
    fn netrc_finds_machine_then_user_then_default() {
        assert_eq!(
            lookup("ftp.example.com", None),
            Some((Some("alice".into()), Some("s3cret".into())))
        );
        assert_eq!(
            lookup("FTP.example.com", Some("bob")),
            Some((Some("bob".into()), Some("hunter2".into())))
        );
        assert_eq!(
            lookup("elsewhere.net", None),
            Some((Some("anonymous".into()), Some("guest@".into())))
        );
        assert_eq!(
            netrc_lookup("machine a login b", "z", None).map(|e| e.0),
            None
        );
    }

    #[test]
    fn ftp_login_prefers_a_set_password_over_netrc() {
        let dir = tempfile::tempdir().unwrap();
        let netrc = dir.path().join("netrc");
        fs::write(&netrc, NETRC).unwrap();
        let mut creds = Credentials::none().with_netrc(&netrc);
        let (user, pass) = creds.ftp_login("other.example.com", None);
        assert_eq!(
            (user.as_deref(), pass.unwrap().expose()),
            (Some("carol"), "x")
        );
        let mut creds = creds.with_password(Secret::new("from-env"));
        let (user, pass) = creds.ftp_login("other.example.com", None);
        assert_eq!(
            (user.as_deref(), pass.unwrap().expose()),
            (Some("carol"), "from-env")
        );
        let (user, pass) = Credentials::none().ftp_login("h", Some("u"));
        assert_eq!(
            (user.as_deref(), pass),
            (Some("u"), None),
            "no prompt when not interactive"
        );
    }

    #[test]
    fn secrets_stay_out_of_debug_output() {
        let creds = Credentials::none()
            .with_password(Secret::new("hunter2"))
            .with_key_passphrase(Secret::new("open sesame"));
        let shown = format!("{creds:?}");
        assert!(
            !shown.contains("hunter2") && !shown.contains("sesame"),
            "{shown}"
        );
    }
}
