//! Recognising who answered a request: a security plugin's block page (from the catalog),
//! Apache's own pages, or WordPress. Status codes alone are ambiguous (Wordfence and AIOS both
//! say 503; Apache, Solid and AIOS all say 403), so each signature pairs a status with text or
//! a header that only that answerer sends, per the plugin fact sheet.

use crate::http::Response;
use crate::site::catalog::Catalog;

/// Who produced a response.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Answerer {
    /// A security plugin's block or lockout page, by catalog id.
    Plugin(String),
    /// A plugin asking for a second factor (a code from an app) after the right password,
    /// by catalog id.
    CodePrompt(String),
    /// The web server asking for its own password (Apache's `.htaccess`, nginx's
    /// `auth_basic`): 401 with a realm.
    ServerBasicAuth,
    /// A password prompt without a realm: a plugin's PHP prompt (AIOS), not Apache's.
    PluginPasswordPrompt,
    /// Apache's own 403 page (a `Deny`/`Require not ip` rule in `.htaccess`).
    ApacheForbidden,
    /// Apache's own 500 page (a broken `.htaccess`).
    ApacheServerError,
    /// A 500 with an empty body: PHP died before any output (e.g. a missing prepend file).
    EmptyServerError,
    /// WordPress's "critical error" page (a PHP fatal inside WordPress).
    WordPressCriticalError,
    /// WordPress's maintenance page: a `.maintenance` file in its root (an update running,
    /// or one that died and left the file behind).
    WordPressMaintenance,
    /// Anything else; judge by status.
    Unrecognised,
}

impl Answerer {
    /// A short human name, with the plugin's name from the catalog.
    pub fn describe(&self, catalog: &Catalog) -> String {
        match self {
            Answerer::Plugin(id) => {
                let name = catalog.get(id).map_or(id.as_str(), |p| p.name.as_str());
                format!("{name} block page")
            }
            Answerer::CodePrompt(id) => {
                let name = catalog.get(id).map_or(id.as_str(), |p| p.name.as_str());
                format!("{name} asks for a two-factor code")
            }
            Answerer::ServerBasicAuth => "server password prompt (basic auth)".into(),
            Answerer::PluginPasswordPrompt => "password prompt without a realm (a plugin's)".into(),
            Answerer::ApacheForbidden => "Apache 403 page".into(),
            Answerer::ApacheServerError => "Apache 500 page".into(),
            Answerer::EmptyServerError => "empty 500 (PHP failed before any output)".into(),
            Answerer::WordPressCriticalError => "WordPress critical error page".into(),
            Answerer::WordPressMaintenance => "WordPress maintenance page".into(),
            Answerer::Unrecognised => "no known block page".into(),
        }
    }
}

/// Apache's and WordPress's own pages: `(answerer, status, text only that page has)`.
const SERVER_PAGES: [(Answerer, u16, &str); 4] = [
    (
        Answerer::WordPressMaintenance,
        503,
        "Briefly unavailable for scheduled maintenance",
    ),
    (
        Answerer::WordPressCriticalError,
        500,
        "There has been a critical error on this website",
    ),
    (
        Answerer::ApacheServerError,
        500,
        "The server encountered an internal error or",
    ),
    (
        Answerer::ApacheForbidden,
        403,
        "You don't have permission to access",
    ),
];

/// Names who answered `response`: a plugin in `catalog` first, then the server.
pub fn recognise(response: &Response, catalog: &Catalog) -> Answerer {
    if response.status == 401
        && let Some(challenge) = response.header("www-authenticate")
    {
        return if challenge.to_ascii_lowercase().contains("realm=") {
            Answerer::ServerBasicAuth
        } else {
            Answerer::PluginPasswordPrompt
        };
    }
    if let Some(plugin) = catalog.block_page_owner(response) {
        return Answerer::Plugin(plugin.id.clone());
    }
    if let Some(plugin) = catalog.code_prompt_owner(response) {
        return Answerer::CodePrompt(plugin.id.clone());
    }
    let server_page = SERVER_PAGES
        .iter()
        .find(|(_, status, marker)| response.status == *status && response.contains(marker));
    match server_page {
        Some((answerer, _, _)) => answerer.clone(),
        None if response.status == 500 && response.body.trim().is_empty() => {
            Answerer::EmptyServerError
        }
        None => Answerer::Unrecognised,
    }
}

/// The realm of a `WWW-Authenticate: Basic realm="…"` challenge.
pub fn basic_realm(response: &Response) -> Option<String> {
    let challenge = response.header("www-authenticate")?;
    let start = challenge.to_ascii_lowercase().find("realm=")? + "realm=".len();
    let rest = &challenge[start..];
    let realm = match rest.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next().unwrap_or_default(),
        None => rest.split([',', ' ']).next().unwrap_or_default(),
    };
    Some(realm.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::site::catalog::tests::sample;

    fn response(status: u16, headers: &[(&str, &str)], body: &str) -> Response {
        crate::http::sample_response("http://example.test/", status, headers, body)
    }

    #[test]
    fn plugin_pages_come_from_the_catalog() {
        let catalog = sample();
        let wordfence = response(
            503,
            &[],
            "<title>Your access to this site has been limited</title> Generated by Wordfence",
        );
        assert_eq!(
            recognise(&wordfence, &catalog),
            Answerer::Plugin("wordfence".into())
        );
        assert_eq!(
            recognise(&response(403, &[], ""), &catalog),
            Answerer::Plugin("aios".into())
        );
        assert_eq!(
            recognise(&wordfence, &Catalog::default()),
            Answerer::Unrecognised
        );
        assert_eq!(
            Answerer::Plugin("wordfence".into()).describe(&catalog),
            "wordfence block page"
        );
    }

    #[test]
    fn server_pages() {
        let catalog = sample();
        let apache_403 =
            "<h1>Forbidden</h1>\n<p>You don't have permission to access this resource.</p>";
        let apache_500 = "<h1>Internal Server Error</h1>\n<p>The server encountered an internal error or\nmisconfiguration";
        let critical = "<p>There has been a critical error on this website.</p>";
        let maintenance = "<title>Maintenance</title>Briefly unavailable for scheduled maintenance. Check back in a minute.";
        let cases = [
            (403, apache_403, Answerer::ApacheForbidden),
            (500, apache_500, Answerer::ApacheServerError),
            (500, "", Answerer::EmptyServerError),
            (500, critical, Answerer::WordPressCriticalError),
            (503, maintenance, Answerer::WordPressMaintenance),
            (200, maintenance, Answerer::Unrecognised),
            (200, "<html>hello</html>", Answerer::Unrecognised),
        ];
        for (status, body, expected) in cases {
            assert_eq!(
                recognise(&response(status, &[], body), &catalog),
                expected,
                "{status} {body}"
            );
        }
    }

    #[test]
    fn a_realm_tells_apache_from_a_plugin_prompt() {
        let catalog = sample();
        let apache = response(
            401,
            &[("www-authenticate", "Basic realm=\"Restricted Area\"")],
            "",
        );
        let aios = response(
            401,
            &[("www-authenticate", "Basic charset=\"UTF-8\"")],
            "<h1>Unauthorized</h1>",
        );
        assert_eq!(recognise(&apache, &catalog), Answerer::ServerBasicAuth);
        assert_eq!(recognise(&aios, &catalog), Answerer::PluginPasswordPrompt);
        assert_eq!(basic_realm(&apache).as_deref(), Some("Restricted Area"));
        assert_eq!(basic_realm(&aios), None);
        let unquoted = response(
            401,
            &[("www-authenticate", "Basic realm=private, charset=\"UTF-8\"")],
            "",
        );
        assert_eq!(basic_realm(&unquoted).as_deref(), Some("private"));
    }
}
