//! The PHP helper's text filled in for one use, and the random name and key of an uploaded
//! copy.

use std::fmt;

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use sha2::Sha256;

use crate::transport::{RemotePath, is_staging_name};

const TEMPLATE: &str = include_str!("helper.php");

/// The first bytes of every helper file: how [`super::Helper::sweep`] knows its own files.
pub(super) const SIGNATURE: &[u8] = b"<?php /* wprescue-helper:";

/// How long an uploaded helper answers, by the server's clock, counted from its upload.
pub(super) const TTL_SECS: u64 = 300;

const NAME_PREFIX: &str = "wprescue-";
const NAME_SUFFIX: &str = ".php";
const NAME_HEX: usize = 32;

/// What a filled-in copy of the helper does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Role<'a> {
    /// Run by `php` over SSH: answers the embedded request on stdout.
    Exec {
        /// Body of the request, JSON.
        request: &'a [u8],
    },
    /// Run by `php` over SSH and kept running: answers a request per line of stdin.
    Serve,
    /// Uploaded and POSTed to: answers each request signed with the key, until it is
    /// removed or expires.
    Http {
        /// The key, in hex.
        key: &'a str,
    },
    /// Uploaded and POSTed to once: answers only what the web server saw of the caller.
    Whoami {
        /// The key, in hex.
        key: &'a str,
    },
}

/// The helper's text for `role`. `config` is the path of wp-config.php relative to the folder
/// the script runs in (the transport root over SSH, the WordPress root over HTTP).
pub(super) fn render(role: Role<'_>, config: &str) -> String {
    let (mode, key, request) = match role {
        Role::Exec { request } => ("exec", "", request),
        Role::Serve => ("serve", "", &b""[..]),
        Role::Http { key } => ("http", key, &b""[..]),
        Role::Whoami { key } => ("whoami", key, &b""[..]),
    };
    // Every value lands inside a single-quoted PHP string, so each is hex or base64: nothing
    // in a path or a request can close the quote.
    [
        ("{{MODE}}", mode.to_owned()),
        ("{{KEY}}", key.to_owned()),
        ("{{TTL}}", TTL_SECS.to_string()),
        ("{{CONFIG}}", STANDARD.encode(config)),
        ("{{REQUEST}}", STANDARD.encode(request)),
    ]
    .iter()
    .fold(TEMPLATE.to_owned(), |text, (placeholder, value)| {
        text.replacen(placeholder, value, 1)
    })
}

/// Apache configuration for the helper's own folder: the firewall a security plugin loads
/// with `auto_prepend_file` runs before any PHP, the helper included, and may block the very
/// address the helper must let in. Switched off for this folder only (mod_php and LiteSpeed
/// read `php_value`; the `<IfModule>` guards keep other servers from failing on it).
pub(super) const FOLDER_HTACCESS: &str = "# wprescue-helper: the one-shot helper in this folder runs without the auto_prepend_file\n\
# firewall; this folder is removed with it.\n\
<IfModule mod_php.c>\nphp_value auto_prepend_file none\n</IfModule>\n\
<IfModule mod_php7.c>\nphp_value auto_prepend_file none\n</IfModule>\n\
<IfModule mod_php5.c>\nphp_value auto_prepend_file none\n</IfModule>\n\
<IfModule lsapi_module>\nphp_value auto_prepend_file none\n</IfModule>\n";

/// The same for PHP-FPM and CGI, which read `.user.ini` (a new folder has no cached copy, so
/// it applies at once).
pub(super) const FOLDER_USER_INI: &str = "; wprescue-helper: the one-shot helper in this folder runs without the auto_prepend_file\n\
; firewall; this folder is removed with it.\nauto_prepend_file =\n";

/// The configuration files written next to an uploaded helper, by name.
pub(super) const FOLDER_FILES: [(&str, &str); 2] = [
    (".htaccess", FOLDER_HTACCESS),
    (".user.ini", FOLDER_USER_INI),
];

/// A fresh name for an uploaded helper's folder, `wprescue-<32 hex>` (128 random bits, so
/// nobody finds it by guessing), and for the helper in it, the same with `.php`.
pub(super) fn folder_and_file_names() -> Result<(String, String), getrandom::Error> {
    let folder = format!("{NAME_PREFIX}{}", random_hex(NAME_HEX / 2)?);
    let file = format!("{folder}{NAME_SUFFIX}");
    Ok((folder, file))
}

/// Whether `name` is a helper folder's name.
pub(super) fn is_helper_folder_name(name: &str) -> bool {
    name.strip_prefix(NAME_PREFIX).is_some_and(|hex| {
        hex.len() == NAME_HEX && hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f'))
    })
}

/// Whether `name` is a helper file's name, or the staging name of one whose upload was cut
/// off.
pub(super) fn is_helper_name(name: &str) -> bool {
    let Some(start) = name
        .len()
        .checked_sub(NAME_PREFIX.len() + NAME_HEX + NAME_SUFFIX.len())
    else {
        return false;
    };
    let Some(own) = name.get(start..) else {
        return false;
    };
    let shaped = own
        .strip_prefix(NAME_PREFIX)
        .and_then(|rest| rest.strip_suffix(NAME_SUFFIX))
        .is_some_and(|hex| hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')));
    shaped && (start == 0 || is_staging_name(name))
}

/// Whether `contents` is (the start of) a helper file or one of its folder's configuration
/// files: an upload cut off early may hold only part of the signature.
pub(super) fn is_helper_text(contents: &[u8]) -> bool {
    let signatures = [SIGNATURE, b"# wprescue-helper:", b"; wprescue-helper:"];
    signatures.iter().any(|signature| {
        if contents.len() < signature.len() {
            signature.starts_with(contents)
        } else {
            contents.starts_with(signature)
        }
    })
}

/// The secret an uploaded helper and wprescue share: 256 random bits, written into the helper
/// and never sent over HTTP. Each request and each answer carries an HMAC-SHA256 of its
/// sequence number and body under it ([`Key::sign`]), so someone who sees one request on the
/// way can neither send another of their own nor pass off an answer of theirs as the helper's.
#[derive(Clone, PartialEq, Eq)]
pub(super) struct Key(String);

/// Which way a signed message goes: a request and its answer never sign the same text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Direction {
    /// wprescue to the helper.
    Request,
    /// The helper's answer.
    Answer,
}

impl Key {
    /// A fresh key from the operating system's random source.
    pub(super) fn new() -> Result<Self, getrandom::Error> {
        random_hex(32).map(Self)
    }

    /// The key in hex, for the script (which uses these hex characters as the HMAC key).
    pub(super) fn hex(&self) -> &str {
        &self.0
    }

    /// HMAC-SHA256, in hex, of `"wprescue-request\n<seq>\n<body>"` (or `wprescue-answer`).
    pub(super) fn sign(&self, direction: Direction, seq: u64, body: &[u8]) -> String {
        let label = match direction {
            Direction::Request => "wprescue-request",
            Direction::Answer => "wprescue-answer",
        };
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(self.0.as_bytes())
            .expect("HMAC takes a key of any length");
        mac.update(format!("{label}\n{seq}\n").as_bytes());
        mac.update(body);
        hex(&mac.finalize().into_bytes())
    }
}

impl fmt::Debug for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Key([redacted])")
    }
}

/// `to` relative to folder `from`, with `..` where needed: how the helper, running in `from`,
/// finds wp-config.php (which may sit one level above the WordPress root).
pub(super) fn relative(from: &RemotePath, to: &RemotePath) -> String {
    let segments = |p: &RemotePath| -> Vec<String> {
        p.as_str()
            .split('/')
            .filter(|s| !s.is_empty())
            .map(str::to_owned)
            .collect()
    };
    let (from, to) = (segments(from), segments(to));
    let common = from.iter().zip(&to).take_while(|(a, b)| a == b).count();
    let mut parts = vec![".."; from.len() - common];
    parts.extend(to[common..].iter().map(String::as_str));
    parts.join("/")
}

fn random_hex(bytes: usize) -> Result<String, getrandom::Error> {
    let mut buf = vec![0u8; bytes];
    getrandom::fill(&mut buf)?;
    Ok(hex(&buf))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(p: &str) -> RemotePath {
        RemotePath::new(p).unwrap()
    }

    #[test]
    fn every_placeholder_is_filled_and_the_signature_comes_first() {
        for role in [
            Role::Exec { request: b"{}" },
            Role::Serve,
            Role::Http { key: "ab12" },
            Role::Whoami { key: "ab12" },
        ] {
            let text = render(role, "../wp-config.php");
            assert!(!text.contains("{{"), "{role:?} left a placeholder");
            assert!(text.as_bytes().starts_with(SIGNATURE));
            assert!(text.contains(&format!(
                "const WPR_CONFIG = '{}';",
                STANDARD.encode("../wp-config.php")
            )));
            assert!(text.contains("const WPR_TTL = 300;"));
        }
        let text = render(
            Role::Exec {
                request: b"{\"v\":1}",
            },
            "wp-config.php",
        );
        assert!(text.contains("const WPR_MODE = 'exec';"));
        assert!(text.contains(&format!(
            "const WPR_REQUEST = '{}';",
            STANDARD.encode("{\"v\":1}")
        )));
        let text = render(Role::Whoami { key: "ab12" }, "wp-config.php");
        assert!(text.contains("const WPR_MODE = 'whoami';"));
        assert!(text.contains("const WPR_KEY = 'ab12';"));
    }

    #[test]
    fn each_placeholder_appears_once_in_the_template() {
        for placeholder in [
            "{{MODE}}",
            "{{KEY}}",
            "{{TTL}}",
            "{{CONFIG}}",
            "{{REQUEST}}",
        ] {
            assert_eq!(TEMPLATE.matches(placeholder).count(), 1, "{placeholder}");
        }
    }

    #[test]
    fn names_are_random_and_recognised() {
        let ((folder, a), (_, b)) = (
            folder_and_file_names().unwrap(),
            folder_and_file_names().unwrap(),
        );
        assert!(is_helper_folder_name(&folder) && a == format!("{folder}.php"));
        assert!(!is_helper_folder_name(&a) && !is_helper_folder_name("wprescue-1234"));
        assert_ne!(a, b);
        assert_eq!(a.len(), "wprescue-".len() + 32 + ".php".len());
        assert!(is_helper_name(&a) && is_helper_name(&b));
        assert!(is_helper_name(&format!(
            ".ht.wprescue-0123456789abcdef.{a}"
        )));
        for other in [
            "wprescue-.php",
            "wprescue-0123456789ABCDEF0123456789abcdef.php",
            "wprescue-0123456789abcdef0123456789abcde.php",
            "xwprescue-0123456789abcdef0123456789abcdef.php",
            "wprescue-0123456789abcdef0123456789abcdef.php.bak",
            "index.php",
            "é",
        ] {
            assert!(!is_helper_name(other), "{other}");
        }
    }

    #[test]
    fn helper_text_is_told_by_its_first_bytes() {
        assert!(is_helper_text(
            render(Role::Exec { request: b"" }, "x").as_bytes()
        ));
        assert!(is_helper_text(b""));
        assert!(is_helper_text(b"<?php /* wpres"));
        assert!(!is_helper_text(b"<?php // something else entirely"));
        for (_, text) in FOLDER_FILES {
            assert!(is_helper_text(text.as_bytes()), "{text}");
        }
        assert!(!is_helper_text(b"# BEGIN WordPress"));
        assert!(!is_helper_text(b"<?php echo 1;"));
    }

    #[test]
    fn keys_are_256_bits_sign_each_way_apart_and_are_never_printed() {
        let key = Key::new().unwrap();
        assert_eq!(key.hex().len(), 64);
        assert_ne!(key, Key::new().unwrap());
        // The same value as PHP's hash_hmac('sha256', "wprescue-request\n7\n{}", 'key').
        assert_eq!(
            Key("key".into()).sign(Direction::Request, 7, b"{}"),
            "d2ecc1b759f7aa1d71df1b30202906c220258fbc22d19a440fc2fc20a2c58906"
        );
        let request = key.sign(Direction::Request, 1, b"{}");
        assert_ne!(request, key.sign(Direction::Answer, 1, b"{}"));
        assert_ne!(request, key.sign(Direction::Request, 2, b"{}"));
        assert_ne!(request, key.sign(Direction::Request, 1, b"{ }"));
        assert!(!format!("{key:?}").contains(key.hex()));
    }

    #[test]
    fn relative_paths_climb_out_of_the_root_when_needed() {
        let root = RemotePath::root();
        assert_eq!(relative(&root, &path("wp-config.php")), "wp-config.php");
        assert_eq!(
            relative(&path("public_html"), &path("public_html/wp-config.php")),
            "wp-config.php"
        );
        assert_eq!(
            relative(&path("public_html"), &path("wp-config.php")),
            "../wp-config.php"
        );
        assert_eq!(
            relative(&path("a/b/wp"), &path("a/wp-config.php")),
            "../../wp-config.php"
        );
    }

    /// The names `wpr_table` gives each of `names` with the prefix `wp_`, or `refused: why`;
    /// from the real helper text, run by the `php` the sandbox installs.
    fn table_names(names: &[&str]) -> Vec<String> {
        // An exec-mode helper with an empty request answers without a database, then the
        // wrapper calls the function the row operations name their tables with. One JSON
        // string per line, so a name with a line break in it stays one answer.
        let dir = tempfile::tempdir().unwrap();
        let script = dir.path().join("helper.php");
        let text = render(
            Role::Exec {
                request: br#"{"v":1,"ops":[]}"#,
            },
            "wp-config.php",
        );
        std::fs::write(&script, text).unwrap();
        let wrapper = r#"ob_start(); include $argv[1]; ob_end_clean();
            foreach (array_slice($argv, 2) as $name) {
                try { $out = wpr_table($name, 'wp_', 0); }
                catch (WprFail $e) { $out = 'refused: ' . $e->getMessage(); }
                echo json_encode($out), "\n";
            }"#;
        let output = std::process::Command::new("php")
            .arg("-r")
            .arg(wrapper)
            .arg(&script)
            .args(names)
            .output()
            .expect("php runs (php-cli: `tests/sandbox/sandbox install`)");
        assert!(output.status.success(), "{output:?}");
        String::from_utf8(output.stdout)
            .unwrap()
            .lines()
            .map(|line| serde_json::from_str(line).unwrap())
            .collect()
    }

    #[test]
    fn a_bang_names_a_table_without_the_prefix_and_nothing_else_changes() {
        let refused = |name: &str| format!("refused: not a table or column name: {name}");
        assert_eq!(
            table_names(&[
                "options",
                "!cerber_blocks",
                "!wp_options",
                "!",
                "!!cerber_blocks",
                "!cerber blocks",
                "!cerber_blocks`; DROP TABLE wp_users; --",
                "!cerber_blocks\n",
                "cerber-blocks",
                "options!",
                "",
            ]),
            [
                "wp_options".to_owned(),
                "cerber_blocks".to_owned(),
                "wp_options".to_owned(),
                refused(""),
                refused("!cerber_blocks"),
                refused("cerber blocks"),
                refused("cerber_blocks`; DROP TABLE wp_users; --"),
                refused("cerber_blocks\n"),
                refused("cerber-blocks"),
                refused("options!"),
                refused(""),
            ]
        );
    }
}
