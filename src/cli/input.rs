//! What the command line asks of the person at the terminal: secrets (never from argv) and
//! the confirmation before changing a site.

use std::io::{IsTerminal, Write};

use anyhow::bail;

use crate::engine::Session;

/// Environment variable holding the password for `--login`.
pub const LOGIN_PASSWORD_ENV: &str = "WPRESCUE_LOGIN_PASSWORD";

/// Whether there is a person to ask: standard input is a terminal.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal()
}

/// A secret from `env`, or typed at a prompt on the terminal; never from the command line.
pub fn secret_from_env_or_prompt(env: &str, prompt: &str) -> anyhow::Result<String> {
    if let Some(value) = std::env::var(env).ok().filter(|v| !v.is_empty()) {
        return Ok(value);
    }
    if !interactive() {
        bail!("no password: set {env}, or run wprescue in a terminal to be asked");
    }
    Ok(rpassword::prompt_password(prompt)?)
}

/// Whether to apply a plan of `changes` changes: yes with `--yes` (`yes`), else the answer to
/// the question.
pub fn confirmed(yes: bool, session: &mut Session, changes: usize) -> anyhow::Result<bool> {
    Ok(yes || confirm_in(session, &format!("apply these {changes} change(s)?"))?)
}

/// Where `reset-password` takes the new password from, when not from a prompt.
pub const NEW_PASSWORD_ENV: &str = "WPRESCUE_NEW_PASSWORD";

/// The new password for `user`: from the environment, or typed twice at a prompt.
pub fn new_password(user: &str) -> anyhow::Result<String> {
    let password = secret_from_env_or_prompt(
        NEW_PASSWORD_ENV,
        &format!("New WordPress password for {user}: "),
    )?;
    let from_env = std::env::var(NEW_PASSWORD_ENV).is_ok_and(|v| !v.is_empty());
    if !from_env {
        let again = rpassword::prompt_password("The same password again: ")?;
        if again != password {
            bail!("the two passwords differ: nothing was changed");
        }
    }
    if password.trim().is_empty() {
        bail!("an empty password: nothing was changed");
    }
    Ok(password)
}

/// The WordPress password for `user`, for a real login.
pub fn login_password(user: &str) -> anyhow::Result<String> {
    secret_from_env_or_prompt(
        LOGIN_PASSWORD_ENV,
        &format!("WordPress password for {user}: "),
    )
}

/// Asks `question`; refuses to go on without a terminal to ask on.
pub fn confirm(question: &str) -> anyhow::Result<bool> {
    if !interactive() {
        bail!(
            "refusing to change the site without confirmation: run again with --yes (or --dry-run to only look)"
        );
    }
    // On stderr: stdout may be a document (`--json`) or a pipe.
    write!(std::io::stderr(), "{question} [y/N] ")?;
    std::io::stderr().flush()?;
    let mut answer = String::new();
    std::io::stdin().read_line(&mut answer)?;
    Ok(matches!(answer.trim(), "y" | "Y" | "yes"))
}

/// [`confirm`], once the session has taken off the site what must not wait on a person (a
/// kept helper).
pub fn confirm_in(session: &mut Session, question: &str) -> anyhow::Result<bool> {
    session.before_asking()?;
    confirm(question)
}
