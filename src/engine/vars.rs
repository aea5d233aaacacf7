//! The values a playbook's templates take in one run: `{run_id}`, `{plugin_folder}`, `{ip}`
//! and its forms; and step paths, expanded and confined below the WordPress root.

use std::net::IpAddr;

use crate::parse::ip_list::ip_to_hex16;
use crate::transport::RemotePath;

use super::EngineError;

/// Values substituted into step paths and contents. The default knows nothing: run id empty,
/// WordPress in the target folder.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Vars {
    /// This run's id: `{run_id}`, so renamed-away names say which run made them.
    pub run_id: String,
    /// The WordPress root, relative to the target; step paths are below it.
    pub wp_root: RemotePath,
    /// `{plugin_folder}`: the plugin's folder, relative to the WordPress root.
    pub plugin_folder: Option<String>,
    /// `{ip}`: the caller's address as the site sees it; also `{ip_hex16}`, its 16-byte form
    /// in hex (Wordfence's transient names), and `{ip_escaped}`, with its dots escaped as in
    /// a regular expression (Solid's `SetEnvIF REMOTE_ADDR "^1\.2\.3\.4$"` bans).
    pub ip: Option<IpAddr>,
    /// The site's WordPress version (`6.8.8`), when known: rows are written the way that
    /// version writes them (`autoload` is `on`/`off` from 6.6, `yes`/`no` before).
    pub wp_version: Option<String>,
    /// The WordPress user given with `--login`: `{user_id}` is that user's ID, for steps
    /// that change one account only (its two-factor settings).
    pub user: Option<String>,
    /// `{site_url}`: the address the caller reaches the site at (`--url`, without a trailing
    /// slash), for steps that set WordPress's own address.
    pub site_url: Option<String>,
    /// `{table_prefix}`: the site's database table prefix (`wp_`), which WordPress also puts
    /// in some `usermeta` keys (`wp_capabilities`).
    pub table_prefix: Option<String>,
    /// The new password `wprescue reset-password` asked for (`set_password`).
    pub new_password: Option<Secret>,
}

/// A secret held in memory only: debug output shows that it is there, never what it is.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps `value`.
    pub fn new(value: String) -> Self {
        Secret(value)
    }

    /// The secret itself, for the one place that needs it.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret([redacted])")
    }
}

impl Vars {
    /// The `autoload` value of an option this site's WordPress would add: `on` from 6.6,
    /// `yes` before (and when the version is unknown: 6.6 and later read it as `on` too).
    pub fn autoload_on(&self) -> &'static str {
        // `7.0-beta1`: the leading digits of the first two parts.
        let number = |part: &str| -> Option<u32> {
            let digits: String = part.chars().take_while(char::is_ascii_digit).collect();
            digits.parse().ok()
        };
        let version = |text: &str| -> Option<(u32, u32)> {
            let mut parts = text.split('.');
            Some((number(parts.next()?)?, number(parts.next()?)?))
        };
        match self.wp_version.as_deref().and_then(version) {
            Some(v) if v >= (6, 6) => "on",
            _ => "yes",
        }
    }

    /// `text` with its templates filled in; an error names a template this run has no value
    /// for.
    pub fn expand(&self, text: &str) -> Result<String, EngineError> {
        let missing = |name: &'static str| EngineError::Template {
            text: text.to_owned(),
            missing: name,
        };
        let mut out = text.replace("{run_id}", &self.run_id);
        if out.contains("{plugin_folder}") {
            let folder = self
                .plugin_folder
                .as_deref()
                .ok_or_else(|| missing("plugin_folder"))?;
            out = out.replace("{plugin_folder}", folder);
        }
        if out.contains("{site_url}") {
            let url = self
                .site_url
                .as_deref()
                .ok_or_else(|| missing("site_url"))?;
            // It lands in PHP strings and regex replacements: nothing that could end one.
            let plain = |c: char| c.is_ascii_alphanumeric() || ":/.-_~%[]@!&()*+,;=?#".contains(c);
            if !url.chars().all(plain) {
                return Err(EngineError::Step(format!(
                    "the site address {url:?} has characters that cannot go into a setting as they are"
                )));
            }
            out = out.replace("{site_url}", url);
        }
        if out.contains("{table_prefix}") {
            let prefix = self
                .table_prefix
                .as_deref()
                .ok_or_else(|| missing("table_prefix"))?;
            out = out.replace("{table_prefix}", prefix);
        }
        if ["{ip}", "{ip_hex16}", "{ip_escaped}"]
            .iter()
            .any(|t| out.contains(t))
        {
            let ip = self.ip()?.to_string();
            out = out
                .replace("{ip_hex16}", &ip_to_hex16(self.ip()?))
                .replace("{ip_escaped}", &ip.replace('.', "\\."))
                .replace("{ip}", &ip);
        }
        Ok(out)
    }

    /// The caller's address, or the error saying the run does not know it.
    pub fn ip(&self) -> Result<IpAddr, EngineError> {
        self.ip.ok_or_else(|| EngineError::Template {
            text: "the caller's address".into(),
            missing: "ip",
        })
    }

    /// A step path: templates expanded, confined below the WordPress root.
    pub(super) fn path(&self, text: &str) -> Result<RemotePath, EngineError> {
        let expanded = self.expand(text)?;
        // RemotePath refuses `..`; an absolute path would silently become relative, so it is
        // refused here instead.
        if expanded.starts_with('/') {
            return Err(EngineError::AbsolutePath(expanded));
        }
        let joined = format!("{}/{expanded}", self.wp_root.as_str());
        Ok(RemotePath::new(&joined)?)
    }
}

/// Values for the engine's unit tests: run `r1`, WordPress in `public_html`, nothing else known.
#[cfg(test)]
impl Vars {
    pub(crate) fn for_tests() -> Vars {
        Vars {
            run_id: "r1".into(),
            wp_root: RemotePath::new("public_html").unwrap(),
            ..Vars::default()
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn options_are_autoloaded_the_way_the_sites_wordpress_writes_them() {
        let vars = |version: Option<&str>| Vars {
            run_id: "1-abcdef".into(),
            wp_root: RemotePath::root(),
            plugin_folder: None,
            ip: None,
            wp_version: version.map(str::to_owned),
            user: None,
            site_url: None,
            table_prefix: None,
            new_password: None,
        };
        assert_eq!(vars(Some("6.8.8")).autoload_on(), "on");
        assert_eq!(vars(Some("6.6")).autoload_on(), "on");
        assert_eq!(vars(Some("6.5.5")).autoload_on(), "yes");
        assert_eq!(vars(Some("6.1.9")).autoload_on(), "yes");
        assert_eq!(vars(None).autoload_on(), "yes");
        assert_eq!(vars(Some("7.0-beta1")).autoload_on(), "on");
    }
}
