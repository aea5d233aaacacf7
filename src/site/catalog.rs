//! What wprescue knows about each security plugin: where it lives, what it writes outside its
//! folder, the marker blocks it adds to `.htaccess` and `wp-config.php`, and what its block
//! page looks like. The data comes from the playbooks (one YAML file per plugin), so that
//! supporting a new plugin means adding a file, not editing Rust; this layer only defines the
//! shape and answers questions about it.

use serde::Deserialize;

use crate::http::Response;

/// One security plugin, as a playbook's `plugin:` section describes it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PluginSpec {
    /// Short identifier used in output and on the command line (`wordfence`).
    pub id: String,
    /// The plugin's name as users know it (`Wordfence`).
    pub name: String,
    /// Folder names under `wp-content/plugins/` (free and premium editions).
    pub folders: Vec<String>,
    /// Files and folders the plugin keeps outside its folder, relative to the WordPress root.
    #[serde(default)]
    pub files: Vec<String>,
    /// Labels of the marker blocks it writes (matched as prefixes, case-insensitively:
    /// `iThemes Security` matches `iThemes Security - Do not modify or remove this line`).
    #[serde(default)]
    pub markers: Vec<String>,
    /// Constants it reads from `wp-config.php`, such as switches that turn a protection off
    /// (`AIOS_DISABLE_LOGIN_LOCKOUT`).
    #[serde(default)]
    pub constants: Vec<String>,
    /// What its block or lockout answers look like.
    #[serde(default)]
    pub block_pages: Vec<PageSignature>,
    /// Where its lockout shows: on every page, or only when logging in.
    #[serde(default)]
    pub lockout_shows_on: LockoutScope,
    /// Whether the plugin can move the login page elsewhere (`wp-login.php` then answers 404).
    #[serde(default)]
    pub hides_login: bool,
    /// What its second-factor prompt looks like: the answer to a login with the right
    /// password when the account also needs a code.
    #[serde(default)]
    pub code_prompts: Vec<PageSignature>,
}

/// Where a plugin's lockout can be seen from outside.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LockoutScope {
    /// Every URL is blocked (firewalls).
    #[default]
    EveryPage,
    /// Only `wp-login.php`, or only a login POST: GET probes cannot see it.
    Login,
}

/// A block page: its status and text found only on it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PageSignature {
    /// The HTTP status it comes with.
    pub status: u16,
    /// The body contains at least one of these.
    #[serde(default)]
    pub any_of: Vec<String>,
    /// The body is empty (AIOS answers its blacklist with a bare 403).
    #[serde(default)]
    pub empty_body: bool,
}

impl PageSignature {
    /// Whether `response` is this page.
    pub fn matches(&self, response: &Response) -> bool {
        response.status == self.status
            && (!self.empty_body || response.body.trim().is_empty())
            && (self.any_of.is_empty() || self.any_of.iter().any(|m| response.contains(m)))
    }
}

/// Every plugin wprescue knows about.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Catalog {
    /// The plugins, in playbook order.
    pub plugins: Vec<PluginSpec>,
}

impl Catalog {
    /// The plugin with this id.
    pub fn get(&self, id: &str) -> Option<&PluginSpec> {
        self.plugins.iter().find(|p| p.id == id)
    }

    /// The plugin that writes marker blocks labelled `label`.
    pub fn owner_of_marker(&self, label: &str) -> Option<&PluginSpec> {
        let label = label.to_ascii_lowercase();
        self.plugins.iter().find(|p| {
            p.markers
                .iter()
                .any(|m| label.starts_with(&m.to_ascii_lowercase()))
        })
    }

    /// The plugin whose block page `response` is. Signatures with text are tried before
    /// those that only say "empty body", so a specific page always wins.
    pub fn block_page_owner(&self, response: &Response) -> Option<&PluginSpec> {
        let with_text = |wanted: bool| {
            self.plugins.iter().find(|p| {
                p.block_pages
                    .iter()
                    .any(|s| s.any_of.is_empty() != wanted && s.matches(response))
            })
        };
        with_text(true).or_else(|| with_text(false))
    }

    /// The plugin whose second-factor prompt `response` is.
    pub fn code_prompt_owner(&self, response: &Response) -> Option<&PluginSpec> {
        self.plugins
            .iter()
            .find(|p| p.code_prompts.iter().any(|s| s.matches(response)))
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// A small catalog in the shape the playbooks give, for unit tests across the crate.
    pub(crate) fn sample() -> Catalog {
        let spec = |id: &str, markers: &[&str], pages: Vec<PageSignature>| PluginSpec {
            id: id.into(),
            name: id.into(),
            folders: vec![id.into()],
            files: vec![],
            markers: markers.iter().map(|m| m.to_string()).collect(),
            constants: vec![],
            block_pages: pages,
            lockout_shows_on: LockoutScope::EveryPage,
            hides_login: false,
            code_prompts: vec![],
        };
        let page = |status, any_of: &[&str], empty_body| PageSignature {
            status,
            any_of: any_of.iter().map(|m| m.to_string()).collect(),
            empty_body,
        };
        Catalog {
            plugins: vec![
                spec(
                    "wordfence",
                    &["Wordfence WAF"],
                    vec![page(503, &["Generated by Wordfence"], false)],
                ),
                spec(
                    "solid-security",
                    &["iThemes Security", "Kadence Security"],
                    vec![page(403, &["lockout_screen"], false)],
                ),
                PluginSpec {
                    constants: vec!["AIOS_DISABLE_LOGIN_LOCKOUT".into()],
                    hides_login: true,
                    ..spec("aios", &["AIOWPSEC Firewall"], vec![page(403, &[], true)])
                },
            ],
        }
    }

    fn response(status: u16, body: &str) -> Response {
        crate::http::sample_response("http://x/", status, &[], body)
    }

    #[test]
    fn block_pages_need_status_and_text() {
        let catalog = sample();
        let owner = |status, body| {
            catalog
                .block_page_owner(&response(status, body))
                .map(|p| p.id.as_str())
        };
        assert_eq!(
            owner(503, "... Generated by Wordfence ..."),
            Some("wordfence")
        );
        assert_eq!(owner(200, "Generated by Wordfence"), None);
        assert_eq!(
            owner(403, "<body id=\"lockout_screen\">"),
            Some("solid-security")
        );
        assert_eq!(owner(403, " \n"), Some("aios"));
        assert_eq!(owner(403, "You don't have permission"), None);
    }

    #[test]
    fn marker_labels_match_by_prefix_and_any_case() {
        let catalog = sample();
        let owner = |label| catalog.owner_of_marker(label).map(|p| p.id.as_str());
        assert_eq!(
            owner("iThemes Security - Do not modify or remove this line"),
            Some("solid-security")
        );
        assert_eq!(owner("KADENCE SECURITY - x"), Some("solid-security"));
        assert_eq!(owner("Wordfence WAF"), Some("wordfence"));
        assert_eq!(owner("WordPress"), None);
    }

    #[test]
    fn unknown_keys_are_refused() {
        let yaml = "id: x\nname: X\nfolders: [x]\nfoldres: [y]\n";
        let err = serde_saphyr::from_str::<PluginSpec>(yaml)
            .unwrap_err()
            .to_string();
        assert!(err.contains("foldres"), "{err}");
    }
}
