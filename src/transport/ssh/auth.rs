//! SSH login, in OpenSSH's order: ssh-agent, key files, then password (or
//! keyboard-interactive, which many shared hosts offer instead). Every attempt is recorded,
//! so a failure can say exactly what was tried.

use std::fs;
use std::path::{Path, PathBuf};

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use ssh2::{KeyboardInteractivePrompt, Prompt, Session};

use super::super::Credentials;

/// Who logs in, and with which keys.
pub(super) struct Login<'a> {
    pub(super) user: &'a str,
    /// `user@host`, for prompts.
    pub(super) display: &'a str,
    /// Key files to try, in order (already including `~/.ssh/config`'s).
    pub(super) keys: Vec<PathBuf>,
    /// The agent's socket, if an agent is to be asked.
    pub(super) agent: Option<PathBuf>,
}

/// Logs in; on failure returns what was tried.
pub(super) fn authenticate(
    session: &Session,
    login: &Login<'_>,
    credentials: &mut Credentials,
) -> Result<(), Vec<String>> {
    let mut tried = Vec::new();
    // Keys first, without asking for the method list: a round trip saved on the usual login.
    // A server that takes no keys refuses each attempt, and the list is asked for then. Keys
    // that would need a passphrase prompt wait until the server is known to take keys.
    if let Some(socket) = &login.agent
        && try_agent(session, login.user, socket, &mut tried)
    {
        return Ok(());
    }
    let (unlocked, locked): (Vec<&PathBuf>, Vec<&PathBuf>) = login
        .keys
        .iter()
        .partition(|key| credentials.has_key_passphrase() || !is_encrypted_file(key));
    for key in unlocked {
        if try_key(session, login.user, key, credentials, &mut tried) {
            return Ok(());
        }
    }
    // Asking for the method list sends "none", which a few servers accept outright.
    let methods = match session.auth_methods(login.user) {
        Ok(methods) => methods.to_owned(),
        Err(e) => {
            tried.push(format!("none ({})", e.message()));
            return Err(tried);
        }
    };
    if session.authenticated() {
        return Ok(());
    }
    let offers = |m: &str| methods.split(',').any(|o| o == m);
    if offers("publickey") {
        for key in locked {
            if try_key(session, login.user, key, credentials, &mut tried) {
                return Ok(());
            }
        }
    }
    let password_method = ["password", "keyboard-interactive"]
        .into_iter()
        .find(|m| offers(m));
    if let Some(method) = password_method {
        let Some(password) = credentials.password(login.display) else {
            tried.push(format!("{method} (no password given)"));
            return Err(tried);
        };
        let result = if method == "password" {
            session.userauth_password(login.user, password.expose())
        } else {
            session.userauth_keyboard_interactive(login.user, &mut AnswerWith(password.expose()))
        };
        if result.is_ok() && session.authenticated() {
            return Ok(());
        }
        tried.push(method.to_owned());
    }
    if tried.is_empty() {
        tried.push(format!(
            "none of the server's methods ({methods}) is supported"
        ));
    }
    Err(tried)
}

fn try_agent(session: &Session, user: &str, socket: &Path, tried: &mut Vec<String>) -> bool {
    let Ok(mut agent) = session.agent() else {
        return false;
    };
    if agent.set_identity_path(socket).is_err()
        || agent.connect().is_err()
        || agent.list_identities().is_err()
    {
        tried.push("ssh-agent (not reachable)".to_owned());
        return false;
    }
    let identities = agent.identities().unwrap_or_default();
    if identities.iter().any(|id| agent.userauth(user, id).is_ok()) {
        return true;
    }
    tried.push(format!("ssh-agent ({} keys)", identities.len()));
    false
}

fn try_key(
    session: &Session,
    user: &str,
    key: &Path,
    credentials: &mut Credentials,
    tried: &mut Vec<String>,
) -> bool {
    let Ok(text) = fs::read_to_string(key) else {
        // ssh skips missing default keys silently; a named one that is missing is worth saying.
        if key.exists() {
            tried.push(format!("key {} (unreadable)", key.display()));
        }
        return false;
    };
    let passphrase = if is_encrypted(&text) {
        match credentials.key_passphrase(key) {
            Some(p) => Some(p),
            None => {
                tried.push(format!(
                    "key {} (encrypted, no passphrase given)",
                    key.display()
                ));
                return false;
            }
        }
    } else {
        None
    };
    let ok = session
        .userauth_pubkey_file(user, None, key, passphrase.as_ref().map(|p| p.expose()))
        .is_ok();
    if !ok {
        tried.push(format!("key {}", key.display()));
    }
    ok
}

/// Whether the key file at `key` is encrypted (a missing or unreadable one is not).
fn is_encrypted_file(key: &Path) -> bool {
    fs::read_to_string(key).is_ok_and(|text| is_encrypted(&text))
}

/// Whether a private key file needs a passphrase: PEM with an `ENCRYPTED` header, or
/// OpenSSH's own format with a cipher other than `none`.
pub(super) fn is_encrypted(text: &str) -> bool {
    const OPENSSH: &str = "-----BEGIN OPENSSH PRIVATE KEY-----";
    let Some(body) = text.split(OPENSSH).nth(1) else {
        return text.contains("ENCRYPTED");
    };
    let b64: String = body
        .lines()
        .take_while(|l| !l.starts_with("-----END"))
        .collect::<String>()
        .split_whitespace()
        .collect();
    let Ok(blob) = STANDARD.decode(b64) else {
        return false;
    };
    // "openssh-key-v1\0", then the cipher name as an SSH string.
    let Some(rest) = blob.strip_prefix(b"openssh-key-v1\0") else {
        return false;
    };
    let cipher = rest
        .get(..4)
        .and_then(|len| rest.get(4..4 + u32::from_be_bytes(len.try_into().ok()?) as usize));
    cipher.is_some_and(|c| c != b"none")
}

/// Answers every keyboard-interactive prompt that hides its input with the password.
struct AnswerWith<'a>(&'a str);

impl KeyboardInteractivePrompt for AnswerWith<'_> {
    fn prompt<'b>(
        &mut self,
        _user: &str,
        _instructions: &str,
        prompts: &[Prompt<'b>],
    ) -> Vec<String> {
        prompts
            .iter()
            .map(|p| {
                if p.echo {
                    String::new()
                } else {
                    self.0.to_owned()
                }
            })
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn openssh_key(cipher: &str) -> String {
        let mut blob = b"openssh-key-v1\0".to_vec();
        blob.extend_from_slice(&(cipher.len() as u32).to_be_bytes());
        blob.extend_from_slice(cipher.as_bytes());
        blob.extend_from_slice(&[0; 40]);
        let b64 = STANDARD.encode(blob);
        let lines: Vec<&str> = b64
            .as_bytes()
            .chunks(70)
            .map(|c| std::str::from_utf8(c).unwrap())
            .collect();
        format!(
            "-----BEGIN OPENSSH PRIVATE KEY-----\n{}\n-----END OPENSSH PRIVATE KEY-----\n",
            lines.join("\n")
        )
    }

    #[test]
    fn detects_encrypted_keys() {
        assert!(!is_encrypted(&openssh_key("none")));
        assert!(is_encrypted(&openssh_key("aes256-ctr")));
        assert!(is_encrypted(
            "-----BEGIN RSA PRIVATE KEY-----\nProc-Type: 4,ENCRYPTED\n..."
        ));
        assert!(is_encrypted("-----BEGIN ENCRYPTED PRIVATE KEY-----\n..."));
        assert!(!is_encrypted("-----BEGIN RSA PRIVATE KEY-----\nMIIE...\n"));
    }

    #[test]
    fn keyboard_interactive_answers_hidden_prompts_only() {
        let prompts = [
            Prompt {
                text: "Password: ".into(),
                echo: false,
            },
            Prompt {
                text: "Name: ".into(),
                echo: true,
            },
        ];
        assert_eq!(AnswerWith("pw").prompt("u", "", &prompts), ["pw", ""]);
    }
}
