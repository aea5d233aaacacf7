//! Reading an Apache `.htaccess` the way Apache would, enough to explain a lockout: the
//! basic-auth directives that answer 401, the `auto_prepend_file` that loads a firewall before
//! WordPress, and the mistakes that make Apache answer 500 for every URL.
//!
//! Apache refuses the whole file on an unknown directive or a closing tag without its section;
//! it tolerates an `<IfModule>` left open at the end of the file and skips the contents of an
//! `<IfModule>` whose module is not loaded. The sanity check follows those rules and says how
//! sure it is.

use super::suggest::closest;

/// A directive line, outside comments.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directive {
    /// 1-based line.
    pub line: usize,
    /// The directive's name as written.
    pub name: String,
    /// Its arguments, quotes removed.
    pub args: Vec<String>,
    /// Whether it sits inside an `<IfModule>` (Apache skips it when the module is missing).
    pub in_if_module: bool,
    /// Whether it sits inside a `<Files>`/`<FilesMatch>`/`<Limit>` section, so it applies to
    /// some requests only.
    pub in_narrow_section: bool,
}

/// Server-level password protection found in the file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BasicAuth {
    /// `AuthType` value (`Basic`, `Digest`).
    pub auth_type: String,
    /// `AuthName`: the realm the browser shows.
    pub realm: Option<String>,
    /// `AuthUserFile`: the password file (absolute on the server).
    pub user_file: Option<String>,
    /// Lines of every auth directive (`AuthType`, `AuthName`, `AuthUserFile`, `Require`, …),
    /// the lines a fix would comment out.
    pub lines: Vec<usize>,
}

/// Something Apache will refuse, or may.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// 1-based line.
    pub line: usize,
    /// What is wrong, in words for the user.
    pub message: String,
    /// True when Apache certainly answers 500 for it; false when it depends on the server
    /// (a module that may be missing, a section left open at the end).
    pub fatal: bool,
    /// True when the fault is this line alone, so that commenting it out leaves the rest of
    /// the file as Apache reads it (an unknown directive, a closing tag with no opening one);
    /// false for sections, whose lines belong together.
    pub commentable: bool,
}

/// What a `.htaccess` says, as far as lockouts go.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Htaccess {
    /// Every directive, in order.
    pub directives: Vec<Directive>,
    /// Problems found by the sanity check.
    pub problems: Vec<Problem>,
}

impl Htaccess {
    /// Parses the file's text.
    pub fn parse(text: &str) -> Htaccess {
        let mut parsed = Htaccess::default();
        let mut sections: Vec<(String, usize)> = Vec::new();
        for (index, raw) in logical_lines(text) {
            let line = index + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            if let Some(close) = trimmed.strip_prefix("</") {
                let name = close.trim_end_matches('>').trim();
                match sections.last() {
                    Some((open, _)) if open.eq_ignore_ascii_case(name) => {
                        sections.pop();
                    }
                    Some((open, open_line)) => parsed.problems.push(Problem {
                        line,
                        message: format!(
                            "</{name}> closes <{open}> opened on line {open_line}: sections are crossed"
                        ),
                        fatal: true,
                        commentable: false,
                    }),
                    None => parsed.problems.push(Problem {
                        line,
                        message: format!("</{name}> without a matching <{name}>"),
                        fatal: true,
                        commentable: true,
                    }),
                }
                continue;
            }
            if let Some(open) = trimmed.strip_prefix('<') {
                let name = open
                    .split(|c: char| c.is_whitespace() || c == '>')
                    .next()
                    .unwrap_or_default();
                if !SECTIONS.iter().any(|s| s.eq_ignore_ascii_case(name)) {
                    parsed.problems.push(Problem {
                        line,
                        message: format!("<{name}> is not a section Apache allows in .htaccess"),
                        fatal: true,
                        commentable: false,
                    });
                }
                sections.push((name.to_owned(), line));
                continue;
            }
            let words = split_args(trimmed);
            let Some((name, args)) = words.split_first() else {
                continue;
            };
            let in_if_module = sections
                .iter()
                .any(|(s, _)| s.eq_ignore_ascii_case("IfModule"));
            let in_narrow_section = sections.iter().any(|(s, _)| {
                !["IfModule", "IfDefine", "IfVersion"]
                    .iter()
                    .any(|w| w.eq_ignore_ascii_case(s))
            });
            if !DIRECTIVES.iter().any(|d| d.eq_ignore_ascii_case(name)) {
                parsed
                    .problems
                    .push(unknown_directive(line, name, in_if_module));
            }
            parsed.directives.push(Directive {
                line,
                name: name.clone(),
                args: args.to_vec(),
                in_if_module,
                in_narrow_section,
            });
        }
        for (name, line) in sections {
            parsed.problems.push(Problem {
                line,
                message: format!("<{name}> is never closed"),
                // Apache 2.4 tolerates an <IfModule> left open at the end of the file.
                fatal: !name.eq_ignore_ascii_case("IfModule"),
                commentable: false,
            });
        }
        parsed.problems.sort_by_key(|p| p.line);
        parsed
    }

    /// Password protection that applies to the whole folder: an `AuthType` outside any
    /// `<Files>`-like section.
    pub fn basic_auth(&self) -> Option<BasicAuth> {
        let auth_type = self
            .directives
            .iter()
            .find(|d| d.name.eq_ignore_ascii_case("AuthType") && !d.in_narrow_section)?;
        let value = |name: &str| {
            self.directives
                .iter()
                .find(|d| d.name.eq_ignore_ascii_case(name) && !d.in_narrow_section)
                .and_then(|d| d.args.first().cloned())
        };
        let lines = self
            .directives
            .iter()
            .filter(|d| !d.in_narrow_section && is_auth_directive(d))
            .map(|d| d.line)
            .collect();
        Some(BasicAuth {
            auth_type: auth_type.args.first().cloned().unwrap_or_default(),
            realm: value("AuthName"),
            user_file: value("AuthUserFile"),
            lines,
        })
    }

    /// Targets of `php_value auto_prepend_file …`, with their lines.
    pub fn prepend_files(&self) -> Vec<(usize, String)> {
        self.directives
            .iter()
            .filter(|d| d.name.eq_ignore_ascii_case("php_value"))
            .filter(|d| {
                d.args
                    .first()
                    .is_some_and(|a| a.eq_ignore_ascii_case("auto_prepend_file"))
            })
            .filter_map(|d| Some((d.line, d.args.get(1)?.clone())))
            .filter(|(_, target)| !target.is_empty() && !target.eq_ignore_ascii_case("none"))
            .collect()
    }
}

fn is_auth_directive(d: &Directive) -> bool {
    const AUTH: [&str; 6] = [
        "AuthType",
        "AuthName",
        "AuthUserFile",
        "AuthGroupFile",
        "AuthBasicProvider",
        "Satisfy",
    ];
    AUTH.iter().any(|a| a.eq_ignore_ascii_case(&d.name))
        || (d.name.eq_ignore_ascii_case("Require")
            && d.args.first().is_some_and(|a| {
                ["valid-user", "user", "group"]
                    .iter()
                    .any(|w| w.eq_ignore_ascii_case(a))
            }))
}

fn unknown_directive(line: usize, name: &str, in_if_module: bool) -> Problem {
    let suggestion = closest(name, DIRECTIVES.iter().copied())
        .map(|d| format!(" (did you mean {d}?)"))
        .unwrap_or_default();
    let consequence = if in_if_module {
        "Apache answers 500 if the surrounding <IfModule>'s module is loaded"
    } else {
        "Apache answers 500 for every URL"
    };
    Problem {
        line,
        message: format!("unknown directive {name}{suggestion}: {consequence}"),
        fatal: !in_if_module,
        commentable: true,
    }
}

/// Lines with their 0-based index, joining `\` continuations the way Apache does.
fn logical_lines(text: &str) -> Vec<(usize, String)> {
    let mut out = Vec::new();
    let mut pending: Option<(usize, String)> = None;
    for (index, line) in text.lines().enumerate() {
        let (start, mut joined) = pending.take().unwrap_or((index, String::new()));
        match line.strip_suffix('\\') {
            Some(head) => {
                joined.push_str(head);
                pending = Some((start, joined));
            }
            None => {
                joined.push_str(line);
                out.push((start, joined));
            }
        }
    }
    out.extend(pending);
    out
}

/// Splits directive arguments on whitespace, honouring double and single quotes.
fn split_args(line: &str) -> Vec<String> {
    let mut args = Vec::new();
    let mut chars = line.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
            continue;
        }
        let mut arg = String::new();
        if c == '"' || c == '\'' {
            chars.next();
            while let Some(ch) = chars.next() {
                match ch {
                    '\\' if chars.peek() == Some(&c) => arg.push(chars.next().unwrap_or(c)),
                    ch if ch == c => break,
                    ch => arg.push(ch),
                }
            }
        } else {
            while let Some(&ch) = chars.peek() {
                if ch.is_whitespace() {
                    break;
                }
                arg.push(ch);
                chars.next();
            }
        }
        args.push(arg);
    }
    args
}

/// Sections Apache accepts in `.htaccess`.
const SECTIONS: &[&str] = &[
    "IfModule",
    "IfDefine",
    "IfVersion",
    "IfDirective",
    "IfFile",
    "IfSection",
    "Files",
    "FilesMatch",
    "Limit",
    "LimitExcept",
    "If",
    "ElseIf",
    "Else",
    "RequireAll",
    "RequireAny",
    "RequireNone",
];

/// Directives of Apache's core and of the modules hosting setups load, that are allowed in
/// `.htaccess`, plus PHP's and LiteSpeed's. A name not here is most likely a typo.
const DIRECTIVES: &[&str] = &[
    // core
    "AcceptPathInfo",
    "AddDefaultCharset",
    "AuthName",
    "AuthType",
    "CGIPassAuth",
    "CGIVar",
    "ContentDigest",
    "DefaultType",
    "Define",
    "EnableMMAP",
    "EnableSendfile",
    "Error",
    "ErrorDocument",
    "FileETag",
    "ForceType",
    "LimitRequestBody",
    "LimitXMLRequestBody",
    "Options",
    "RLimitCPU",
    "RLimitMEM",
    "RLimitNPROC",
    "ServerSignature",
    "SetHandler",
    "SetInputFilter",
    "SetOutputFilter",
    "UnDefine",
    // access and authentication
    "Allow",
    "Deny",
    "Order",
    "Satisfy",
    "Require",
    "AuthMerging",
    "AuthBasicProvider",
    "AuthBasicAuthoritative",
    "AuthBasicFake",
    "AuthBasicUseDigestAlgorithm",
    "AuthUserFile",
    "AuthGroupFile",
    "AuthDBMUserFile",
    "AuthDBMGroupFile",
    "AuthDigestProvider",
    "AuthDigestDomain",
    "AuthDigestAlgorithm",
    "AuthDigestNonceLifetime",
    "AuthDigestQop",
    "AuthzSendForbiddenOnFailure",
    // mod_rewrite, mod_alias
    "RewriteEngine",
    "RewriteBase",
    "RewriteCond",
    "RewriteRule",
    "RewriteOptions",
    "Redirect",
    "RedirectMatch",
    "RedirectPermanent",
    "RedirectTemporary",
    // mod_mime, mod_negotiation, mod_filter, mod_deflate
    "AddCharset",
    "AddEncoding",
    "AddHandler",
    "AddInputFilter",
    "AddLanguage",
    "AddOutputFilter",
    "AddType",
    "DefaultLanguage",
    "MultiviewsMatch",
    "RemoveCharset",
    "RemoveEncoding",
    "RemoveHandler",
    "RemoveInputFilter",
    "RemoveLanguage",
    "RemoveOutputFilter",
    "RemoveType",
    "LanguagePriority",
    "ForceLanguagePriority",
    "AddOutputFilterByType",
    "FilterDeclare",
    "FilterProvider",
    "FilterChain",
    "FilterProtocol",
    "FilterTrace",
    "DeflateCompressionLevel",
    "DeflateInflateLimitRequestBody",
    // mod_headers, mod_expires, mod_env, mod_setenvif
    "Header",
    "RequestHeader",
    "ExpiresActive",
    "ExpiresByType",
    "ExpiresDefault",
    "SetEnv",
    "UnsetEnv",
    "PassEnv",
    "SetEnvIf",
    "SetEnvIfNoCase",
    "SetEnvIfExpr",
    "BrowserMatch",
    "BrowserMatchNoCase",
    // mod_dir, mod_autoindex
    "DirectoryIndex",
    "DirectorySlash",
    "DirectoryCheckHandler",
    "FallbackResource",
    "IndexOptions",
    "IndexIgnore",
    "IndexIgnoreReset",
    "IndexOrderDefault",
    "IndexStyleSheet",
    "IndexHeadInsert",
    "HeaderName",
    "ReadmeName",
    "AddDescription",
    "AddIcon",
    "AddIconByType",
    "AddIconByEncoding",
    "AddAlt",
    "AddAltByType",
    "AddAltByEncoding",
    "DefaultIcon",
    // others seen in WordPress sites
    "CheckSpelling",
    "CheckCaseOnly",
    "XBitHack",
    "SSIErrorMsg",
    "SSITimeFormat",
    "Substitute",
    "SSLOptions",
    "SSLRequireSSL",
    "SSLRequire",
    "ModPagespeed",
    "CacheLookup",
    "CacheDisable",
    "SecFilterEngine",
    "SecFilterScanPOST",
    "SecRuleEngine",
    "mod_gzip_on",
    "mod_gzip_dechunk",
    "mod_gzip_item_include",
    "mod_gzip_item_exclude",
    "php_value",
    "php_flag",
    "php_admin_value",
    "php_admin_flag",
    "lsapi_phpini",
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn panel_directory_privacy_is_basic_auth() {
        let ht = Htaccess::parse(
            "AuthType Basic\nAuthName \"Restricted Area\"\nAuthUserFile \"/home/u/.htpasswds/public_html/passwd\"\nRequire valid-user\n\n# BEGIN WordPress\nRewriteEngine On\n<Files \".user.ini\">\nRequire all denied\n</Files>\n# END WordPress\n",
        );
        assert_eq!(
            ht.basic_auth(),
            Some(BasicAuth {
                auth_type: "Basic".into(),
                realm: Some("Restricted Area".into()),
                user_file: Some("/home/u/.htpasswds/public_html/passwd".into()),
                lines: vec![1, 2, 3, 4],
            })
        );
        assert!(ht.problems.is_empty(), "{:?}", ht.problems);
    }

    #[test]
    fn auth_limited_to_some_files_is_not_a_site_password() {
        let ht =
            Htaccess::parse("<Files wp-login.php>\nAuthType Basic\nRequire valid-user\n</Files>\n");
        assert_eq!(ht.basic_auth(), None);
        assert_eq!(Htaccess::parse("RewriteEngine On\n").basic_auth(), None);
    }

    #[test]
    fn a_typo_is_fatal_and_gets_a_suggestion() {
        let ht = Htaccess::parse(
            "<IfModule mod_expires.c>\nExpiresActive On\n</IfModule>\nExpiresDefualt \"access plus 1 month\"\n",
        );
        assert_eq!(
            ht.problems,
            [Problem {
                line: 4,
                message: "unknown directive ExpiresDefualt (did you mean ExpiresDefault?): Apache answers 500 for every URL".into(),
                fatal: true,
                commentable: true,
            }]
        );
        let guarded = Htaccess::parse("<IfModule mod_expires.c>\nExpiresDefualt x\n</IfModule>\n");
        assert!(!guarded.problems[0].fatal);
        assert!(
            guarded.problems[0]
                .message
                .contains("if the surrounding <IfModule>")
        );
    }

    #[test]
    fn section_balance() {
        let unclosed_if_module = Htaccess::parse("<IfModule mod_rewrite.c>\nRewriteEngine On\n");
        assert_eq!(unclosed_if_module.problems.len(), 1);
        assert!(
            !unclosed_if_module.problems[0].fatal,
            "Apache 2.4 tolerates it"
        );

        let stray_close = Htaccess::parse("RewriteEngine On\n</IfModule>\n");
        assert_eq!(stray_close.problems[0].line, 2);
        assert!(stray_close.problems[0].fatal);

        let crossed = Htaccess::parse("<IfModule a>\n<Files x>\n</IfModule>\n</Files>\n");
        assert!(
            crossed
                .problems
                .iter()
                .any(|p| p.fatal && p.message.contains("crossed"))
        );

        let directory = Htaccess::parse("<Directory /var/www>\n</Directory>\n");
        assert!(
            directory.problems[0]
                .message
                .contains("not a section Apache allows")
        );
    }

    #[test]
    fn wordfence_prepend_inside_if_modules() {
        let ht = Htaccess::parse(
            "# Wordfence WAF\n<IfModule mod_php5.c>\n\tphp_value auto_prepend_file '/home/u/public_html/wordfence-waf.php'\n</IfModule>\n<IfModule mod_php.c>\n\tphp_value auto_prepend_file \"/home/u/public_html/wordfence-waf.php\"\n</IfModule>\n# END Wordfence WAF\nphp_value auto_prepend_file none\n",
        );
        assert_eq!(
            ht.prepend_files(),
            [
                (3, "/home/u/public_html/wordfence-waf.php".to_owned()),
                (6, "/home/u/public_html/wordfence-waf.php".to_owned()),
            ]
        );
    }

    #[test]
    fn continuation_lines_and_quotes() {
        let ht = Htaccess::parse("Header set X-Test \\\n  \"a b\"\nRewriteRule ^x$ - [L]\n");
        assert_eq!(ht.directives[0].args, ["set", "X-Test", "a b"]);
        assert_eq!(ht.directives[1].line, 3);
        assert_eq!(
            split_args(r#"AuthName "say \"hi\"""#),
            ["AuthName", "say \"hi\""]
        );
    }
}
