//! What runs the site, as far as its answers and its files tell, and what that hides from a
//! fix made through the account: nginx reads no `.htaccess` (its passwords, deny rules and PHP
//! settings live in the host's configuration), and PHP-FPM and CGI read `.user.ini` from a
//! cache, so a change to it shows only when the cached copy expires.

use crate::parse::text::printable;

use super::Report;

/// The longest `Server` header kept: anything longer is not a server's name.
const MAX_SERVER_NAME: usize = 80;

/// The web stack behind the site.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stack {
    /// The `Server` header of the first answer (hostile text: printable, bounded), if any.
    pub server: Option<String>,
    /// Whether the WordPress root has a `.htaccess`.
    pub htaccess: bool,
    /// Whether the WordPress root has a `.user.ini`.
    pub user_ini: bool,
}

impl Stack {
    /// The stack of an investigated site.
    pub fn of(report: &Report) -> Stack {
        let server = report
            .probes
            .iter()
            .flat_map(|p| &p.hops)
            .find_map(|hop| hop.response.header("server"))
            .map(|s| {
                printable(s)
                    .chars()
                    .take(MAX_SERVER_NAME)
                    .collect::<String>()
            })
            .filter(|s| !s.trim().is_empty());
        Stack {
            server,
            htaccess: report.inventory.has_htaccess,
            user_ini: report.inventory.has_user_ini,
        }
    }

    /// Whether nginx answers with no `.htaccess` in sight: what Apache would read there is in
    /// the host's configuration instead. (nginx in front of Apache, as some panels run it,
    /// leaves a `.htaccess` that Apache reads.)
    pub fn nginx_alone(&self) -> bool {
        !self.htaccess
            && self
                .server
                .as_deref()
                .is_some_and(|s| s.to_ascii_lowercase().starts_with("nginx"))
    }

    /// What the user should know about fixing this site through the account, one sentence
    /// each; nothing for the usual Apache with `.htaccess`.
    pub fn notes(&self) -> Vec<String> {
        let mut notes = Vec::new();
        if self.nginx_alone() {
            notes.push(format!(
                "{} reads no .htaccess: its password prompts, deny rules and PHP settings are in \
                 the host's configuration, out of this account's reach",
                self.server.as_deref().unwrap_or("nginx")
            ));
        }
        if self.user_ini {
            notes.push(
                ".user.ini sets PHP options here: PHP-FPM and CGI re-read it only when their \
                 cached copy expires (user_ini.cache_ttl, 5 minutes by default), so unlock puts a \
                 no-op file where a missing auto_prepend_file points, or waits for the cache"
                    .to_owned(),
            );
        }
        notes
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stack(server: Option<&str>, htaccess: bool, user_ini: bool) -> Stack {
        Stack {
            server: server.map(str::to_owned),
            htaccess,
            user_ini,
        }
    }

    #[test]
    fn nginx_without_htaccess_is_told_apart_from_nginx_in_front_of_apache() {
        assert!(stack(Some("nginx/1.22.1"), false, false).nginx_alone());
        assert!(stack(Some("NGINX"), false, false).nginx_alone());
        assert!(
            !stack(Some("nginx"), true, false).nginx_alone(),
            "Apache behind"
        );
        assert!(!stack(Some("Apache/2.4.62 (Debian)"), false, false).nginx_alone());
        assert!(
            !stack(None, false, false).nginx_alone(),
            "unknown: no claim"
        );
    }

    #[test]
    fn notes_only_where_the_stack_hides_something() {
        assert!(stack(Some("Apache"), true, false).notes().is_empty());
        let notes = stack(Some("nginx/1.22.1"), false, true).notes();
        assert_eq!(notes.len(), 2, "{notes:?}");
        assert!(notes[0].starts_with("nginx/1.22.1 reads no .htaccess"));
        assert!(notes[1].contains("user_ini.cache_ttl"));
    }
}
