//! What the command line generates about itself: shell completions and the manual page, both
//! from the one clap definition, so they never drift from `--help`.

use clap::CommandFactory;

use crate::engine::Outcome;

use super::args::Cli;

/// `wprescue completions SHELL`.
pub fn completions(shell: clap_complete::Shell) -> anyhow::Result<Outcome> {
    let mut command = Cli::command();
    clap_complete::generate(shell, &mut command, "wprescue", &mut std::io::stdout());
    Ok(Outcome::Shown)
}

/// `wprescue man`.
pub fn man() -> anyhow::Result<Outcome> {
    clap_mangen::Man::new(Cli::command()).render(&mut std::io::stdout())?;
    Ok(Outcome::Shown)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn completions_and_the_manual_page_are_generated() {
        for shell in [
            clap_complete::Shell::Bash,
            clap_complete::Shell::Zsh,
            clap_complete::Shell::Fish,
        ] {
            let mut script = Vec::new();
            clap_complete::generate(shell, &mut Cli::command(), "wprescue", &mut script);
            let script = String::from_utf8(script).unwrap();
            assert!(
                script.contains("rollback") && script.contains("dry-run"),
                "{shell}"
            );
        }
        let mut page = Vec::new();
        clap_mangen::Man::new(Cli::command())
            .render(&mut page)
            .unwrap();
        let page = String::from_utf8(page).unwrap();
        assert!(page.starts_with(".ie") || page.contains(".TH"), "{page}");
        assert!(page.contains("wprescue"), "{page}");
    }
}
