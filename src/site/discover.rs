//! Finding WordPress under the target folder: the folder itself, or the usual hosting layouts
//! (`public_html`, `www`, `htdocs`, `httpdocs`, `domains/*/public_html`) and one level of
//! subfolders below the target and below each of those. Hidden folders (`.htpasswds`,
//! `.cpanel`, `.ssh` …) are left out: panels keep their own things there, never a site.
//!
//! A folder is a WordPress root when it holds `wp-includes/version.php`; its `wp-config.php`
//! is in it or, as WordPress allows, one level above (when that folder is not itself a
//! WordPress root). Listings already made are reused, so a typical account costs a handful
//! of round trips.

use std::collections::BTreeMap;

use crate::transport::{Entry, Kind, Prefetch, RemotePath, Transport, TransportExt};

use super::SiteError;

/// Folders hosting panels use as the web root.
const DOCROOTS: [&str; 4] = ["public_html", "www", "htdocs", "httpdocs"];

/// Folders that are never a WordPress root, so not worth a round trip.
const NOT_SITES: [&str; 10] = [
    "wp-admin",
    "wp-content",
    "wp-includes",
    "logs",
    "log",
    "tmp",
    "mail",
    "etc",
    "cgi-bin",
    "node_modules",
];

/// A WordPress installation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WpRoot {
    /// The folder holding `wp-includes/` (relative to the target; root when it is the target).
    pub path: RemotePath,
    /// `$wp_version` from `wp-includes/version.php`, when readable.
    pub version: Option<String>,
    /// Where `wp-config.php` is, if found.
    pub config: Option<RemotePath>,
}

/// Every WordPress root under the target, in path order.
pub fn find_wordpress(t: &mut dyn Transport) -> Result<Vec<WpRoot>, SiteError> {
    let mut listings: BTreeMap<RemotePath, Vec<Entry>> = BTreeMap::new();
    let root = RemotePath::root();
    let top = t.list(&root)?;
    let mut candidates = vec![root.clone()];
    let mut to_list: Vec<RemotePath> = Vec::new();
    for entry in dirs(&top) {
        let path = root.join(&entry.name)?;
        if DOCROOTS.contains(&entry.name.as_str()) {
            to_list.push(path.clone());
        }
        if entry.name == "domains" {
            for domain in dirs(&t.list(&path)?) {
                let public = path.join(&domain.name)?.join("public_html")?;
                if t.stat(&public)?.is_some_and(|m| m.kind == Kind::Dir) {
                    to_list.push(public);
                }
            }
        }
        candidates.push(path);
    }
    listings.insert(root, top);
    for docroot in to_list {
        let entries = t.list(&docroot)?;
        for entry in dirs(&entries) {
            candidates.push(docroot.join(&entry.name)?);
        }
        if !candidates.contains(&docroot) {
            candidates.push(docroot.clone());
        }
        listings.insert(docroot, entries);
    }
    candidates.sort();
    candidates.dedup();

    let mut roots = Vec::new();
    for candidate in candidates {
        if !is_wordpress_root(t, &listings, &candidate)? {
            continue;
        }
        let version = read_version(t, &candidate)?;
        let config = find_config(t, &listings, &candidate)?;
        roots.push(WpRoot {
            path: candidate,
            version,
            config,
        });
    }
    Ok(roots)
}

fn dirs(entries: &[Entry]) -> impl Iterator<Item = &Entry> {
    entries.iter().filter(|e| {
        e.meta.kind == Kind::Dir
            && !e.name.starts_with('.')
            && !NOT_SITES.contains(&e.name.as_str())
    })
}

fn listed(
    listings: &BTreeMap<RemotePath, Vec<Entry>>,
    dir: &RemotePath,
    name: &str,
) -> Option<bool> {
    listings
        .get(dir)
        .map(|entries| entries.iter().any(|e| e.name == name))
}

fn is_wordpress_root(
    t: &mut dyn Transport,
    listings: &BTreeMap<RemotePath, Vec<Entry>>,
    dir: &RemotePath,
) -> Result<bool, SiteError> {
    if listed(listings, dir, "wp-includes") == Some(false) {
        return Ok(false);
    }
    Ok(t.exists(&dir.join("wp-includes")?.join("version.php")?)?)
}

fn read_version(t: &mut dyn Transport, root: &RemotePath) -> Result<Option<String>, SiteError> {
    let text = t.read_to_vec(&root.join("wp-includes")?.join("version.php")?)?;
    let text = String::from_utf8_lossy(&text);
    Ok(text.lines().find_map(|line| {
        let rest = line
            .trim()
            .strip_prefix("$wp_version")?
            .trim_start()
            .strip_prefix('=')?;
        let value = rest.trim().trim_end_matches(';').trim();
        Some(value.trim_matches(|c| c == '\'' || c == '"').to_owned())
    }))
}

fn find_config(
    t: &mut dyn Transport,
    listings: &BTreeMap<RemotePath, Vec<Entry>>,
    root: &RemotePath,
) -> Result<Option<RemotePath>, SiteError> {
    let here = root.join("wp-config.php")?;
    let present_here = match listed(listings, root, "wp-config.php") {
        Some(known) => known,
        None => t.exists(&here)?,
    };
    if present_here {
        return Ok(Some(here));
    }
    // WordPress also reads ../wp-config.php, unless that folder is another installation.
    let Some(parent) = root.parent() else {
        return Ok(None);
    };
    let above = parent.join("wp-config.php")?;
    let parent_is_site = t.exists(&parent.join("wp-settings.php")?)?;
    Ok((!parent_is_site && t.exists(&above)?).then_some(above))
}

/// What discovery and the inventory read of a usual hosting account, for
/// [`Transport::prefetch`]: the account's folders, and in the account's root or one folder
/// down (the usual `public_html`), WordPress's own folders and small files.
pub fn layout() -> Prefetch {
    Prefetch::new(
        &[
            ".",
            "*",
            "wp-includes",
            "*/wp-includes",
            "wp-content",
            "*/wp-content",
            "wp-content/plugins",
            "*/wp-content/plugins",
            "wp-content/mu-plugins",
            "*/wp-content/mu-plugins",
            "wp-content/uploads",
            "*/wp-content/uploads",
            "wp-content/wflogs",
            "*/wp-content/wflogs",
        ],
        &[
            "wp-config.php",
            "*/wp-config.php",
            "wp-includes/version.php",
            "*/wp-includes/version.php",
            ".htaccess",
            "*/.htaccess",
            ".user.ini",
            "*/.user.ini",
            "wp-content/wflogs/config-synced.php",
            "*/wp-content/wflogs/config-synced.php",
        ],
        256 << 10,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::{MemoryTransport, WriteMode};

    fn site(files: &[&str]) -> MemoryTransport {
        let mut t = MemoryTransport::new();
        for file in files {
            let path = RemotePath::new(file).unwrap();
            if let Some(parent) = path.parent() {
                t.mkdir_all(&parent).unwrap();
            }
            let body: &[u8] = if file.ends_with("version.php") {
                b"<?php\n$wp_version = '6.1.9';\n$wp_db_version = 53496;\n"
            } else {
                b"<?php\n"
            };
            t.write_bytes(&path, body, WriteMode::Create).unwrap();
        }
        t
    }

    fn roots(t: &mut MemoryTransport) -> Vec<(String, Option<String>, Option<String>)> {
        find_wordpress(t)
            .unwrap()
            .into_iter()
            .map(|r| {
                (
                    r.path.as_str().to_owned(),
                    r.version,
                    r.config.map(|c| c.as_str().to_owned()),
                )
            })
            .collect()
    }

    #[test]
    fn the_target_itself() {
        let mut t = site(&[
            "wp-includes/version.php",
            "wp-config.php",
            "wp-settings.php",
        ]);
        assert_eq!(
            roots(&mut t),
            [(
                "".into(),
                Some("6.1.9".into()),
                Some("wp-config.php".into())
            )]
        );
    }

    #[test]
    fn a_hosting_home_with_public_html_and_config_one_level_up() {
        let mut t = site(&[
            "public_html/wp-includes/version.php",
            "public_html/wp-settings.php",
            "wp-config.php",
            "logs/error.log",
            // A panel's backup copy, in a hidden folder: not a site.
            ".softaculous/wp-includes/version.php",
        ]);
        // WordPress reads ../wp-config.php, but the home is not a site, so here it is the
        // home's copy that counts.
        assert_eq!(
            roots(&mut t),
            [(
                "public_html".into(),
                Some("6.1.9".into()),
                Some("wp-config.php".into())
            )]
        );
    }

    #[test]
    fn several_sites_are_all_listed() {
        let mut t = site(&[
            "domains/a.example/public_html/wp-includes/version.php",
            "domains/a.example/public_html/wp-config.php",
            "public_html/blog/wp-includes/version.php",
            "public_html/blog/wp-config.php",
            "public_html/index.html",
        ]);
        let found: Vec<_> = roots(&mut t).into_iter().map(|r| r.0).collect();
        assert_eq!(found, ["domains/a.example/public_html", "public_html/blog"]);
    }

    #[test]
    fn no_wordpress_no_roots() {
        let mut t = site(&["public_html/index.html", "www/x/y.txt"]);
        assert!(roots(&mut t).is_empty());
    }

    #[test]
    fn a_missing_config_is_reported_as_none() {
        let mut t = site(&["htdocs/wp-includes/version.php", "htdocs/wp-settings.php"]);
        assert_eq!(
            roots(&mut t),
            [("htdocs".into(), Some("6.1.9".into()), None)]
        );
    }
}
