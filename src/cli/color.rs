//! Colour, decided once: `--color always|never` wins; `auto` means stdout is a terminal and
//! `NO_COLOR` is unset or empty.

use std::io::IsTerminal;

use clap::ValueEnum;

/// The `--color` flag.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, ValueEnum)]
pub enum ColorChoice {
    /// Colour when writing to a terminal and NO_COLOR is not set.
    #[default]
    Auto,
    /// Always colour.
    Always,
    /// Never colour.
    Never,
}

/// Semantic styles; call sites ask for a meaning, not an escape code.
#[derive(Debug, Clone, Copy)]
pub struct Color {
    enabled: bool,
}

impl Color {
    /// Resolves `choice` for a stream that is (or is not) a terminal.
    pub fn new(choice: ColorChoice, is_terminal: bool) -> Self {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let enabled = match choice {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => is_terminal && !no_color,
        };
        Self { enabled }
    }

    /// For standard output.
    pub fn stdout(choice: ColorChoice) -> Self {
        Self::new(choice, std::io::stdout().is_terminal())
    }

    /// For standard error.
    pub fn stderr(choice: ColorChoice) -> Self {
        Self::new(choice, std::io::stderr().is_terminal())
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.enabled {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    /// `error:` labels and failed checks.
    pub fn error(&self, text: &str) -> String {
        self.paint("1;31", text)
    }

    /// Warnings and lockouts found.
    pub fn warn(&self, text: &str) -> String {
        self.paint("1;33", text)
    }

    /// Success.
    pub fn good(&self, text: &str) -> String {
        self.paint("1;32", text)
    }

    /// Labels and headings.
    pub fn label(&self, text: &str) -> String {
        self.paint("1", text)
    }

    /// Commands the user can copy.
    pub fn command(&self, text: &str) -> String {
        self.paint("36", text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn never_and_pipes_stay_plain() {
        assert_eq!(Color::new(ColorChoice::Never, true).error("x"), "x");
        assert_eq!(Color::new(ColorChoice::Auto, false).error("x"), "x");
        assert_eq!(
            Color::new(ColorChoice::Always, false).good("x"),
            "\x1b[1;32mx\x1b[0m"
        );
    }
}
