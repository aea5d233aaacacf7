//! Server-sent text made safe to print: a site, a log or a hostile server can put terminal
//! escape sequences in what wprescue shows (retitle the terminal, clear it, draw a fake
//! "all changes applied"). Control characters are shown, escaped, instead of obeyed.

/// `text` with every control character but the tab shown as an escape (`\u{1b}`), so that
/// nothing in it acts on the terminal.
pub fn printable(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if c.is_control() && c != '\t' {
            out.extend(c.escape_default());
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_cannot_reach_the_terminal() {
        let hostile = "GET / 200 \u{1b}]0;pwned\u{7}\u{1b}[2J\r\u{9b}31mall changes applied\n";
        let shown = printable(hostile);
        assert!(!shown.chars().any(|c| c.is_control()), "{shown:?}");
        assert!(shown.contains("\\u{1b}]0;pwned\\u{7}"), "{shown}");
        assert_eq!(printable("plain\ttext é"), "plain\ttext é");
    }
}
