//! Reading `wp-config.php` without running it.
//!
//! The file is PHP, and sites edit it by hand, so the reader scans PHP tokens instead of
//! matching lines: a `define()` inside a comment or a string does not count, either quote style
//! and any spacing do. Only literal values are evaluated (strings, numbers, `true`, `false`,
//! `null`); anything else (`getenv()`, concatenation, `__DIR__ . '/x'`) is kept as its source
//! text and reported as not evaluated, never guessed.
//!
//! Secrets (database password, keys, salts) are not kept at all: their values are replaced by
//! [`ConfigValue::Redacted`] while parsing, so nothing downstream can print or log them.

use std::fmt;

/// A value assigned in `wp-config.php`.
#[derive(Debug, Clone, PartialEq)]
pub enum ConfigValue {
    /// A string literal, unescaped.
    Str(String),
    /// An integer literal.
    Int(i64),
    /// A float literal.
    Float(f64),
    /// `true` or `false`, any case.
    Bool(bool),
    /// `null`, any case.
    Null,
    /// An expression the reader does not evaluate, as written in the file.
    Unevaluated(String),
    /// A secret; its value was dropped while parsing.
    Redacted,
}

impl ConfigValue {
    /// The value as a string, when it is a string literal.
    pub fn as_str(&self) -> Option<&str> {
        match self {
            ConfigValue::Str(s) => Some(s),
            _ => None,
        }
    }

    /// PHP truthiness, when the value is known.
    pub fn is_truthy(&self) -> Option<bool> {
        match self {
            ConfigValue::Str(s) => Some(!s.is_empty() && s != "0"),
            ConfigValue::Int(i) => Some(*i != 0),
            ConfigValue::Float(f) => Some(*f != 0.0),
            ConfigValue::Bool(b) => Some(*b),
            ConfigValue::Null => Some(false),
            ConfigValue::Unevaluated(_) | ConfigValue::Redacted => None,
        }
    }
}

impl fmt::Display for ConfigValue {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ConfigValue::Str(s) => write!(f, "'{s}'"),
            ConfigValue::Int(i) => write!(f, "{i}"),
            ConfigValue::Float(x) => write!(f, "{x}"),
            ConfigValue::Bool(b) => write!(f, "{b}"),
            ConfigValue::Null => f.write_str("null"),
            ConfigValue::Unevaluated(src) => write!(f, "{src} (not evaluated)"),
            ConfigValue::Redacted => f.write_str("[redacted]"),
        }
    }
}

/// One `define()` call.
#[derive(Debug, Clone, PartialEq)]
pub struct Constant {
    /// The constant's name.
    pub name: String,
    /// Its value.
    pub value: ConfigValue,
    /// 1-based line of the `define` call.
    pub line: usize,
}

/// What `wp-config.php` sets, in file order.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WpConfig {
    /// Every `define()` found, in order; PHP keeps the first of duplicates.
    pub constants: Vec<Constant>,
    /// The `$table_prefix` assignment, if any.
    pub table_prefix: Option<ConfigValue>,
}

impl WpConfig {
    /// Reads the `define()` calls and `$table_prefix` from the file's text.
    pub fn parse(text: &str) -> WpConfig {
        let tokens = tokenize(text);
        let mut config = WpConfig::default();
        let mut i = 0;
        while i < tokens.len() {
            match &tokens[i].kind {
                Tok::Ident(name) if name.eq_ignore_ascii_case("define") => {
                    if let Some((constant, next)) = parse_define(text, &tokens, i) {
                        config.constants.push(constant);
                        i = next;
                        continue;
                    }
                }
                Tok::Variable(name) if name == "table_prefix" => {
                    if let Some(Tok::Punct('=')) = tokens.get(i + 1).map(|t| &t.kind)
                        && config.table_prefix.is_none()
                    {
                        let (value, next) = parse_expression(text, &tokens, i + 2);
                        config.table_prefix = Some(value);
                        i = next;
                        continue;
                    }
                }
                _ => {}
            }
            i += 1;
        }
        config
    }

    /// The value PHP would see for a constant: the first definition.
    pub fn get(&self, name: &str) -> Option<&ConfigValue> {
        self.constants
            .iter()
            .find(|c| c.name == name)
            .map(|c| &c.value)
    }

    /// The table prefix when it is a plain string (WordPress's default is `wp_`).
    pub fn table_prefix(&self) -> Option<&str> {
        self.table_prefix.as_ref().and_then(ConfigValue::as_str)
    }
}

/// Whether a name (a constant, a variable, an option) says its value is a secret that must
/// never be shown: a word of it is, or ends in, one of PASSWORD, PASSWD, PASS, PWD, KEY,
/// SALT, SECRET, TOKEN (`DB_PASSWORD`, `SMTP_PWD`, `MAILGUN_APIKEY`, `dbPassword`).
pub fn is_secret_name(name: &str) -> bool {
    const ENDINGS: [&str; 7] = [
        "PASSWORD", "PASSWD", "PWD", "KEY", "SALT", "SECRET", "TOKEN",
    ];
    let upper = name.to_ascii_uppercase();
    upper
        .split(|c: char| !c.is_ascii_alphanumeric())
        .any(|word| word == "PASS" || ENDINGS.iter().any(|end| word.ends_with(end)))
}

/// The file's text with every secret value replaced by `[redacted]`, for diffs and logs:
/// values of `define()`s and `const`s with secret names, of `define()`s whose name is
/// computed (`'DB_' . 'PASSWORD'`), and of variables with secret names, in code and in
/// comments alike; then every other place any of those values appears. Everything else is
/// byte-identical.
pub fn redact(text: &str) -> String {
    let mut out = redact_defines(text);
    for value in secret_literals(text) {
        out = out.replace(&value, "[redacted]");
    }
    out
}

/// The values assigned to secret names anywhere in `text` (comments included), as written
/// between their quotes; the short ones left out, so that redacting them everywhere does not
/// blank half the file.
fn secret_literals(text: &str) -> Vec<String> {
    use std::sync::LazyLock;
    static ASSIGNMENTS: LazyLock<[regex::Regex; 3]> = LazyLock::new(|| {
        const QUOTED: &str = r#"(?:'((?:\\.|[^'\\])*)'|"((?:\\.|[^"\\])*)")"#;
        [
            format!(r#"(?i)define\s*\(\s*['"]([A-Za-z0-9_]+)['"]\s*,\s*{QUOTED}"#),
            format!(r#"(?i)\bconst\s+([A-Za-z0-9_]+)\s*=\s*{QUOTED}"#),
            format!(r#"\$([A-Za-z0-9_]+)\s*=\s*{QUOTED}"#),
        ]
        .map(|pattern| regex::Regex::new(&pattern).expect("the patterns are valid"))
    });
    static COMPUTED: LazyLock<regex::Regex> = LazyLock::new(|| {
        regex::Regex::new(
            r#"(?i)define\s*\(\s*[^,)]*\.[^,)]*,\s*(?:'((?:\\.|[^'\\])*)'|"((?:\\.|[^"\\])*)")"#,
        )
        .expect("the pattern is valid")
    });
    let mut values = Vec::new();
    for pattern in ASSIGNMENTS.iter() {
        for found in pattern.captures_iter(text) {
            if is_secret_name(&found[1])
                && let Some(value) = found.get(2).or_else(|| found.get(3))
            {
                values.push(value.as_str().to_owned());
            }
        }
    }
    for found in COMPUTED.captures_iter(text) {
        if let Some(value) = found.get(1).or_else(|| found.get(2)) {
            values.push(value.as_str().to_owned());
        }
    }
    values.retain(|v| v.chars().count() >= 4 && v != "[redacted]");
    // Longest first, so that one value inside another is not half-replaced.
    values.sort_by_key(|v| std::cmp::Reverse(v.len()));
    values.dedup();
    values
}

/// The tokens' pass of [`redact`]: the whole value expression of each `define()` with a
/// secret name, whatever its form.
fn redact_defines(text: &str) -> String {
    let tokens = tokenize(text);
    let mut out = String::with_capacity(text.len());
    let mut copied = 0;
    for (i, token) in tokens.iter().enumerate() {
        let Tok::Ident(word) = &token.kind else {
            continue;
        };
        if !word.eq_ignore_ascii_case("define") {
            continue;
        }
        let Some(name) = define_name(&tokens, i) else {
            continue;
        };
        if !is_secret_name(&name) {
            continue;
        }
        // The value runs from after the comma to the closing parenthesis or next comma.
        let (start, end) = value_span(text, &tokens, i + 4);
        if start >= copied && end > start {
            out.push_str(&text[copied..start]);
            out.push_str("'[redacted]'");
            copied = end;
        }
    }
    out.push_str(&text[copied..]);
    out
}

fn define_name(tokens: &[Token], i: usize) -> Option<String> {
    match (tokens.get(i + 1)?, tokens.get(i + 2)?, tokens.get(i + 3)?) {
        (
            Token {
                kind: Tok::Punct('('),
                ..
            },
            Token {
                kind: Tok::Str(StrLit::Plain(name)),
                ..
            },
            Token {
                kind: Tok::Punct(','),
                ..
            },
        ) => Some(name.clone()),
        _ => None,
    }
}

fn parse_define(text: &str, tokens: &[Token], i: usize) -> Option<(Constant, usize)> {
    // A method or a declaration named like `define` (`$x->define(`, `X::define(`,
    // `function define(`) is not the built-in.
    let previous = i.checked_sub(1).map(|p| &tokens[p].kind);
    match previous {
        Some(Tok::Arrow | Tok::Punct(':')) => return None,
        Some(Tok::Ident(word)) if word.eq_ignore_ascii_case("function") => return None,
        _ => {}
    }
    let name = define_name(tokens, i)?;
    let (mut value, next) = parse_expression(text, tokens, i + 4);
    if is_secret_name(&name) {
        value = ConfigValue::Redacted;
    }
    let constant = Constant {
        name,
        value,
        line: tokens[i].line,
    };
    Some((constant, next))
}

/// Byte span of the expression starting at token `start`, up to a `,`, `)`, or `;` at depth 0.
fn value_span(text: &str, tokens: &[Token], start: usize) -> (usize, usize) {
    let end_tok = expression_end(tokens, start);
    let begin = tokens.get(start).map_or(text.len(), |t| t.start);
    let end = if end_tok > start {
        tokens[end_tok - 1].end
    } else {
        begin
    };
    (begin, end)
}

fn expression_end(tokens: &[Token], start: usize) -> usize {
    let mut depth = 0usize;
    let mut j = start;
    while let Some(token) = tokens.get(j) {
        match token.kind {
            Tok::Punct('(' | '[') => depth += 1,
            Tok::Punct(')' | ']') if depth == 0 => break,
            Tok::Punct(')' | ']') => depth -= 1,
            Tok::Punct(',' | ';') if depth == 0 => break,
            _ => {}
        }
        j += 1;
    }
    j
}

/// Evaluates a literal expression starting at token `start`; returns the value and the index
/// of the token after the expression's terminator.
fn parse_expression(text: &str, tokens: &[Token], start: usize) -> (ConfigValue, usize) {
    let end = expression_end(tokens, start);
    let slice = &tokens[start.min(end)..end];
    let value = match slice {
        [single] => literal(&single.kind),
        [sign, number] if sign.kind == Tok::Punct('-') => match literal(&number.kind) {
            ConfigValue::Int(n) => ConfigValue::Int(-n),
            ConfigValue::Float(x) => ConfigValue::Float(-x),
            _ => ConfigValue::Unevaluated(String::new()),
        },
        _ => ConfigValue::Unevaluated(String::new()),
    };
    let value = match value {
        ConfigValue::Unevaluated(_) => {
            let (a, b) = value_span(text, tokens, start);
            ConfigValue::Unevaluated(text[a..b].trim().to_owned())
        }
        known => known,
    };
    (value, end + 1)
}

fn literal(kind: &Tok) -> ConfigValue {
    match kind {
        Tok::Str(StrLit::Plain(s)) => ConfigValue::Str(s.clone()),
        Tok::Number(n) => n
            .parse::<i64>()
            .map(ConfigValue::Int)
            .or_else(|_| n.parse::<f64>().map(ConfigValue::Float))
            .unwrap_or_else(|_| ConfigValue::Unevaluated(n.clone())),
        Tok::Ident(word) if word.eq_ignore_ascii_case("true") => ConfigValue::Bool(true),
        Tok::Ident(word) if word.eq_ignore_ascii_case("false") => ConfigValue::Bool(false),
        Tok::Ident(word) if word.eq_ignore_ascii_case("null") => ConfigValue::Null,
        _ => ConfigValue::Unevaluated(String::new()),
    }
}

// ---------------------------------------------------------------------------------------------
// A PHP tokenizer, just deep enough to know what is code, comment and string.

#[derive(Debug, Clone, PartialEq)]
enum StrLit {
    /// Fully known value.
    Plain(String),
    /// A double-quoted string with `$` interpolation: its value depends on run time.
    Interpolated,
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Variable(String),
    Str(StrLit),
    Number(String),
    Arrow,
    Punct(char),
}

#[derive(Debug, Clone)]
struct Token {
    kind: Tok,
    line: usize,
    start: usize,
    end: usize,
}

fn tokenize(text: &str) -> Vec<Token> {
    let bytes = text.as_bytes();
    let mut tokens = Vec::new();
    let mut i = 0;
    let mut line = 1;
    while i < bytes.len() {
        let c = bytes[i];
        let start = i;
        let start_line = line;
        let kind = match c {
            b'\n' => {
                line += 1;
                i += 1;
                continue;
            }
            _ if c.is_ascii_whitespace() => {
                i += 1;
                continue;
            }
            b'#' | b'/' if c == b'#' || bytes.get(i + 1) == Some(&b'/') => {
                // Line comment; `?>` also ends it, as in PHP.
                while i < bytes.len() && bytes[i] != b'\n' && !bytes[i..].starts_with(b"?>") {
                    i += 1;
                }
                continue;
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let close = text[i + 2..]
                    .find("*/")
                    .map_or(bytes.len(), |p| i + 2 + p + 2);
                line += text[i..close].matches('\n').count();
                i = close;
                continue;
            }
            b'\'' | b'"' => {
                let (lit, next) = scan_string(text, i);
                line += text[i..next].matches('\n').count();
                i = next;
                Tok::Str(lit)
            }
            b'$' => {
                i += 1;
                let name_start = i;
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                    i += 1;
                }
                Tok::Variable(text[name_start..i].to_owned())
            }
            b'-' if bytes.get(i + 1) == Some(&b'>') => {
                i += 2;
                Tok::Arrow
            }
            _ if c.is_ascii_digit() => {
                while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.') {
                    i += 1;
                }
                Tok::Number(text[start..i].to_owned())
            }
            _ if c.is_ascii_alphabetic() || c == b'_' || c == b'\\' || c >= 0x80 => {
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric()
                        || bytes[i] == b'_'
                        || bytes[i] == b'\\'
                        || bytes[i] >= 0x80)
                {
                    i += 1;
                }
                // `\define` is the global function too.
                Tok::Ident(text[start..i].trim_start_matches('\\').to_owned())
            }
            _ => {
                // Multi-byte UTF-8 is handled above; this is one ASCII punctuation byte.
                i += 1;
                Tok::Punct(c as char)
            }
        };
        tokens.push(Token {
            kind,
            line: start_line,
            start,
            end: i,
        });
    }
    tokens
}

/// Scans a quoted string starting at `start` (the quote); returns its value and the byte after
/// the closing quote (or the end of the text when it is unterminated).
fn scan_string(text: &str, start: usize) -> (StrLit, usize) {
    let quote = text.as_bytes()[start] as char;
    let mut value = String::new();
    let mut interpolated = false;
    let mut chars = text[start + 1..].char_indices();
    while let Some((offset, c)) = chars.next() {
        match c {
            c if c == quote => {
                let end = start + 1 + offset + 1;
                let lit = if interpolated {
                    StrLit::Interpolated
                } else {
                    StrLit::Plain(value)
                };
                return (lit, end);
            }
            '\\' => match chars.next() {
                Some((_, escaped)) => match (quote, escaped) {
                    ('\'', '\'' | '\\') => value.push(escaped),
                    ('\'', other) => {
                        value.push('\\');
                        value.push(other);
                    }
                    ('"', 'n') => value.push('\n'),
                    ('"', 't') => value.push('\t'),
                    ('"', 'r') => value.push('\r'),
                    ('"', '"' | '\\' | '$') => value.push(escaped),
                    (_, other) => {
                        value.push('\\');
                        value.push(other);
                    }
                },
                None => break,
            },
            '$' if quote == '"' => {
                interpolated = true;
                value.push(c);
            }
            c => value.push(c),
        }
    }
    let lit = if interpolated {
        StrLit::Interpolated
    } else {
        StrLit::Plain(value)
    };
    (lit, text.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    const STANDARD: &str = r#"<?php
/**
 * The base configuration for WordPress
 */
// ** Database settings - You can get this info from your web host ** //
define( 'DB_NAME', 'wpsite' );
define( 'DB_USER', 'wpsite' );
define( 'DB_PASSWORD', 's3cr3t-Pa55' );
define( 'DB_HOST', '127.0.0.1:13306' );
define( 'AUTH_KEY',         'abc$def' );
define( 'NONCE_SALT',       'xyz' );
$table_prefix = 'wp_';
define( 'WP_DEBUG', false );
if ( ! defined( 'ABSPATH' ) ) {
	define( 'ABSPATH', __DIR__ . '/' );
}
require_once ABSPATH . 'wp-settings.php';
"#;

    #[test]
    fn reads_the_standard_file() {
        let config = WpConfig::parse(STANDARD);
        assert_eq!(
            config.get("DB_NAME"),
            Some(&ConfigValue::Str("wpsite".into()))
        );
        assert_eq!(
            config.get("DB_HOST").and_then(ConfigValue::as_str),
            Some("127.0.0.1:13306")
        );
        assert_eq!(config.get("WP_DEBUG"), Some(&ConfigValue::Bool(false)));
        assert_eq!(config.table_prefix(), Some("wp_"));
        assert_eq!(
            config.get("ABSPATH"),
            Some(&ConfigValue::Unevaluated("__DIR__ . '/'".into()))
        );
        let db_name = config
            .constants
            .iter()
            .find(|c| c.name == "DB_NAME")
            .unwrap();
        assert_eq!(db_name.line, 6);
    }

    #[test]
    fn secrets_are_dropped_while_parsing() {
        let config = WpConfig::parse(STANDARD);
        for name in ["DB_PASSWORD", "AUTH_KEY", "NONCE_SALT"] {
            assert_eq!(config.get(name), Some(&ConfigValue::Redacted), "{name}");
        }
        let debug = format!("{config:?}");
        assert!(
            !debug.contains("s3cr3t") && !debug.contains("abc$def"),
            "{debug}"
        );
    }

    #[test]
    fn redact_replaces_only_secret_values() {
        let redacted = redact(STANDARD);
        assert!(!redacted.contains("s3cr3t-Pa55"));
        assert!(!redacted.contains("abc$def"));
        assert!(
            redacted.contains("define( 'DB_PASSWORD', '[redacted]' );"),
            "{redacted}"
        );
        assert!(redacted.contains("define( 'NONCE_SALT',       '[redacted]' );"));
        assert!(redacted.contains("define( 'DB_NAME', 'wpsite' );"));
        assert_eq!(redact("<?php echo 1;\n"), "<?php echo 1;\n");
        // Only the values change: the same lines, in the same order.
        assert_eq!(redacted.lines().count(), STANDARD.lines().count());
    }

    #[test]
    fn redact_finds_secrets_by_name_form_and_value() {
        let text = "<?php
define('DB_PASSWORD', 'hunter2-db');
const SMTP_PWD = \"mail-s3cret\";
define('DB_' . 'PASSWORD', 'computed-pw');
$dbPassword = 'hunter2-db';
// define('DB_PASSWORD', 'old-password');
define('MAILGUN_APIKEY', 'key-123456');
define('DB_PASSWD', 'passwd-value');
$connection = 'mysql://u:hunter2-db@localhost';
define('DB_NAME', 'wpsite');
";
        let redacted = redact(text);
        for secret in [
            "hunter2-db",
            "mail-s3cret",
            "computed-pw",
            "old-password",
            "key-123456",
            "passwd-value",
        ] {
            assert!(!redacted.contains(secret), "{secret} in:\n{redacted}");
        }
        assert!(
            redacted.contains("define('DB_NAME', 'wpsite');"),
            "{redacted}"
        );
        assert_eq!(redacted.lines().count(), text.lines().count());
        for name in [
            "DB_PASSWD",
            "SMTP_PWD",
            "MAILGUN_APIKEY",
            "dbPassword",
            "aiowps_secret_key",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in [
            "DB_NAME",
            "WP_HOME",
            "table_prefix",
            "WP_DEBUG",
            "KEYWORDS_ON",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
    }

    #[test]
    fn quote_styles_spacing_and_case() {
        let config = WpConfig::parse(
            "<?php\nDEFINE(\"WP_HOME\",\"https://example.com\");\n\\define  (  'WP_SITEURL' ,\n  'https://example.com/wp'  ) ;\ndefine('X', 'it\\'s');\ndefine('Y', \"tab\\there\");\ndefine('N', -5);\ndefine('F', 1.5);\ndefine('U', NULL);\ndefine('T', TRUE);",
        );
        assert_eq!(
            config.get("WP_HOME").and_then(ConfigValue::as_str),
            Some("https://example.com")
        );
        assert_eq!(
            config.get("WP_SITEURL").and_then(ConfigValue::as_str),
            Some("https://example.com/wp")
        );
        assert_eq!(config.get("X").and_then(ConfigValue::as_str), Some("it's"));
        assert_eq!(
            config.get("Y").and_then(ConfigValue::as_str),
            Some("tab\there")
        );
        assert_eq!(config.get("N"), Some(&ConfigValue::Int(-5)));
        assert_eq!(config.get("F"), Some(&ConfigValue::Float(1.5)));
        assert_eq!(config.get("U"), Some(&ConfigValue::Null));
        assert_eq!(config.get("T"), Some(&ConfigValue::Bool(true)));
    }

    #[test]
    fn commented_out_and_quoted_defines_do_not_count() {
        let config = WpConfig::parse(
            "<?php\n// define('A', 1);\n# define('B', 1);\n/* define('C', 1);\n define('D', 1); */\n$s = \"define('E', 1);\";\n$t = 'define(\"F\", 1);';\ndefine('G', 1); // define('H', 1);\n",
        );
        let names: Vec<_> = config.constants.iter().map(|c| c.name.as_str()).collect();
        assert_eq!(names, ["G"]);
        assert_eq!(config.constants[0].line, 8);
    }

    #[test]
    fn run_time_values_are_reported_not_guessed() {
        let config = WpConfig::parse(
            "<?php\ndefine('DB_HOST', getenv('DB_HOST'));\ndefine('WP_CONTENT_DIR', dirname(__FILE__) . '/content');\ndefine('WP_HOME', \"https://$host\");\ndefine('WP_PLUGIN_DIR', WP_CONTENT_DIR . '/plugins');\n$table_prefix = getenv('PREFIX') ?: 'wp_';",
        );
        assert_eq!(
            config.get("DB_HOST"),
            Some(&ConfigValue::Unevaluated("getenv('DB_HOST')".into()))
        );
        assert_eq!(
            config.get("WP_CONTENT_DIR"),
            Some(&ConfigValue::Unevaluated(
                "dirname(__FILE__) . '/content'".into()
            ))
        );
        assert_eq!(
            config.get("WP_HOME"),
            Some(&ConfigValue::Unevaluated("\"https://$host\"".into()))
        );
        assert!(matches!(
            config.get("WP_PLUGIN_DIR"),
            Some(ConfigValue::Unevaluated(_))
        ));
        assert_eq!(config.table_prefix(), None);
        assert!(matches!(
            config.table_prefix,
            Some(ConfigValue::Unevaluated(_))
        ));
    }

    #[test]
    fn the_first_definition_wins_and_methods_named_define_are_not_define() {
        let config = WpConfig::parse(
            "<?php\n$obj->define('A', 2);\nfunction define_things() {}\ndefine('A', 1);\ndefine('A', 3);",
        );
        assert_eq!(config.get("A"), Some(&ConfigValue::Int(1)));
        assert_eq!(config.constants.len(), 2);
    }

    #[test]
    fn hostile_files_do_not_panic() {
        for text in [
            "",
            "<?php define(",
            "<?php define('A'",
            "<?php define('A',",
            "<?php define('A', 'unterminated",
            "<?php /* never closed define('A', 1);",
            "<?php define(((((('A', 1)))));",
            "<?php $table_prefix =",
            "\u{0}\u{1}define\u{ff}('A', 1);",
            "<?php define('Ä', 'ü'); define('B', \"\\",
            "<?php\n".repeat(10_000).as_str(),
        ] {
            let _ = WpConfig::parse(text);
            let _ = redact(text);
        }
        let config = WpConfig::parse("<?php define('Ä', 'ü');");
        assert_eq!(config.get("Ä").and_then(ConfigValue::as_str), Some("ü"));
    }

    #[test]
    fn secret_names() {
        for name in [
            "DB_PASSWORD",
            "AUTH_KEY",
            "SECURE_AUTH_SALT",
            "SMTP_PASS",
            "API_TOKEN",
            "MAILPASSWORD",
        ] {
            assert!(is_secret_name(name), "{name}");
        }
        for name in [
            "DB_NAME",
            "WP_HOME",
            "DISALLOW_FILE_EDIT",
            "KEYCHAIN_DIR",
            "WP_DEBUG",
        ] {
            assert!(!is_secret_name(name), "{name}");
        }
    }
}
