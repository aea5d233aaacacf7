//! Marker-delimited blocks that WordPress and security plugins write into `.htaccess`,
//! `.user.ini` and `wp-config.php`: `# BEGIN WordPress` … `# END WordPress`,
//! `# Wordfence WAF` … `# END Wordfence WAF`, `// Begin AIOWPSEC Firewall` …, and AIOS's
//! `#AIOWPS_IP_BLACKLIST_START` … `#AIOWPS_IP_BLACKLIST_END` sub-blocks.
//!
//! The comment leader differs by file (`#`, `//`, `;`) and plugins change case (`Begin`,
//! `BEGIN`), so both are ignored when matching; the label must match between the two ends.
//! Which plugin wrote a block is the catalog's business ([`crate::site::catalog`]).

use std::collections::HashMap;

/// One block, with 1-based, inclusive line numbers of its two marker lines.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MarkerBlock {
    /// The label as written after `BEGIN` (e.g. `iThemes Security - Do not modify or remove
    /// this line`).
    pub label: String,
    /// Line of the opening marker.
    pub begin_line: usize,
    /// Line of the closing marker.
    pub end_line: usize,
}

/// A marker that opens a block nobody closes, or closes one nobody opened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StrayMarker {
    /// The label.
    pub label: String,
    /// 1-based line.
    pub line: usize,
    /// True for an opening marker without its end.
    pub opening: bool,
}

/// All blocks in a file, outermost first by position, and the markers that do not pair up.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Markers {
    /// Complete blocks, ordered by their opening line.
    pub blocks: Vec<MarkerBlock>,
    /// Markers without a partner.
    pub stray: Vec<StrayMarker>,
}

impl Markers {
    /// Finds the marker blocks in a file's text.
    pub fn find(text: &str) -> Markers {
        // The blocks still open, by label (any case): an END closes the latest BEGIN of its
        // label. One stack per label keeps a file of many unmatched markers linear.
        let mut open: HashMap<String, Vec<(String, usize)>> = HashMap::new();
        let mut markers = Markers::default();
        for (index, line) in text.lines().enumerate() {
            let number = index + 1;
            match marker(line) {
                Some(Marker::Begin(label)) => open
                    .entry(label.to_ascii_lowercase())
                    .or_default()
                    .push((label, number)),
                Some(Marker::End(label)) => {
                    let key = label.to_ascii_lowercase();
                    match open.get_mut(&key).and_then(Vec::pop) {
                        Some((label, begin_line)) => markers.blocks.push(MarkerBlock {
                            label,
                            begin_line,
                            end_line: number,
                        }),
                        None => markers.stray.push(StrayMarker {
                            label,
                            line: number,
                            opening: false,
                        }),
                    }
                }
                None => {}
            }
        }
        markers.stray.extend(
            open.into_values()
                .flatten()
                .map(|(label, line)| StrayMarker {
                    label,
                    line,
                    opening: true,
                }),
        );
        markers.blocks.sort_by_key(|b| b.begin_line);
        markers.stray.sort_by_key(|s| s.line);
        markers
    }

    /// The 1-based marker block that contains `line`, innermost first.
    pub fn enclosing(&self, line: usize) -> Option<&MarkerBlock> {
        self.blocks
            .iter()
            .filter(|b| b.begin_line <= line && line <= b.end_line)
            .min_by_key(|b| b.end_line - b.begin_line)
    }
}

enum Marker {
    Begin(String),
    End(String),
}

fn marker(line: &str) -> Option<Marker> {
    let trimmed = line.trim();
    let body = ["#", "//", ";"]
        .iter()
        .find_map(|leader| trimmed.strip_prefix(leader))?
        .trim();
    // AIOS sub-blocks: `#AIOWPS_IP_BLACKLIST_START` / `#AIOWPS_IP_BLACKLIST_END`.
    if body.starts_with("AIOWPS_") && !body.contains(' ') {
        if let Some(name) = body.strip_suffix("_START") {
            return Some(Marker::Begin(name.to_owned()));
        }
        if let Some(name) = body.strip_suffix("_END") {
            return Some(Marker::End(name.to_owned()));
        }
    }
    let (word, rest) = body.split_once(' ')?;
    let label = rest.trim().to_owned();
    if label.is_empty() {
        return None;
    }
    match word.to_ascii_lowercase().as_str() {
        "begin" => Some(Marker::Begin(label)),
        "end" => Some(Marker::End(label)),
        // Wordfence opens its WAF block without a BEGIN: `# Wordfence WAF`.
        "wordfence" if label.eq_ignore_ascii_case("WAF") => {
            Some(Marker::Begin(format!("{word} {label}")))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HTACCESS: &str = "\
# BEGIN iThemes Security - Do not modify or remove this line
# iThemes Security Config Details: 2
\t# Ban Hosts - Security > Settings > Banned Users
\tSetEnvIF REMOTE_ADDR \"^127\\.0\\.0\\.1$\" DenyAccess
# END iThemes Security - Do not modify or remove this line
# Wordfence WAF
<IfModule mod_php.c>
\tphp_value auto_prepend_file '/home/u/public_html/wordfence-waf.php'
</IfModule>
# END Wordfence WAF
# BEGIN All In One WP Security
#AIOWPS_IP_BLACKLIST_START
Deny from 10.0.0.1
#AIOWPS_IP_BLACKLIST_END
# END All In One WP Security
# BEGIN WordPress
RewriteEngine On
# END WordPress
";

    #[test]
    fn finds_every_plugin_block_with_its_lines() {
        let markers = Markers::find(HTACCESS);
        let found: Vec<_> = markers
            .blocks
            .iter()
            .map(|b| (b.label.as_str(), b.begin_line, b.end_line))
            .collect();
        assert_eq!(
            found,
            [
                ("iThemes Security - Do not modify or remove this line", 1, 5),
                ("Wordfence WAF", 6, 10),
                ("All In One WP Security", 11, 15),
                ("AIOWPS_IP_BLACKLIST", 12, 14),
                ("WordPress", 16, 18),
            ]
        );
        assert!(markers.stray.is_empty());
        assert_eq!(markers.enclosing(13).unwrap().label, "AIOWPS_IP_BLACKLIST");
        assert_eq!(markers.enclosing(8).unwrap().label, "Wordfence WAF");
        assert_eq!(markers.enclosing(19), None);
    }

    #[test]
    fn comment_leaders_and_case_vary_by_file() {
        let wp_config = "<?php\n// Begin AIOWPSEC Firewall\nif (file_exists('x')) { include_once 'x'; }\n// End AIOWPSEC Firewall\n";
        let user_ini =
            "; Wordfence WAF\nauto_prepend_file = '/x/wordfence-waf.php'\n; END Wordfence WAF\n";
        let kadence = "# BEGIN Kadence Security - Do not modify or remove this line\n# END Kadence Security - Do not modify or remove this line\n";
        let only = |text| {
            let blocks = Markers::find(text).blocks;
            assert_eq!(blocks.len(), 1, "{text}");
            (
                blocks[0].label.clone(),
                blocks[0].begin_line,
                blocks[0].end_line,
            )
        };
        assert_eq!(only(wp_config), ("AIOWPSEC Firewall".into(), 2, 4));
        assert_eq!(only(user_ini), ("Wordfence WAF".into(), 1, 3));
        let kadence_label = "Kadence Security - Do not modify or remove this line";
        assert_eq!(only(kadence), (kadence_label.into(), 1, 2));
    }

    #[test]
    fn unpaired_markers_are_reported() {
        let markers = Markers::find("# BEGIN WordPress\nRewriteEngine On\n# END W3TC\n");
        assert!(markers.blocks.is_empty());
        assert_eq!(
            markers.stray,
            [
                StrayMarker {
                    label: "WordPress".into(),
                    line: 1,
                    opening: true
                },
                StrayMarker {
                    label: "W3TC".into(),
                    line: 3,
                    opening: false
                },
            ]
        );
    }

    #[test]
    fn ordinary_comments_are_not_markers() {
        let markers = Markers::find(
            "# The directives between BEGIN and END are generated\n# BEGIN\n#\n# Wordfence is great\n",
        );
        assert_eq!(markers, Markers::default());
    }

    #[test]
    fn many_unmatched_markers_are_all_reported() {
        // 20,000 of each, none pairing up: every END looks for its BEGIN, so a search per END
        // through all open blocks is quadratic (34 s here before).
        let mut text = String::new();
        for i in 0..20_000 {
            text.push_str(&format!("# BEGIN open{i}\n# END closed{i}\n"));
        }
        let markers = Markers::find(&text);
        assert!(markers.blocks.is_empty());
        assert_eq!(markers.stray.len(), 40_000);
        assert_eq!(markers.stray[0].line, 1);
        assert!(markers.stray[0].opening && !markers.stray[1].opening);
    }
}
