//! The parsers of files a site holds, fed thousands of mutated samples ([`crate::mutate`]).

use super::firewall_files::{AiosAllowlist, AiosFirewallSettings, WordfenceWafConfig};
use super::htaccess::Htaccess;
use super::markers::Markers;
use super::{ip_list, serialized, suggest, text, wp_config};
use crate::mutate::survives;

fn lossy(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

const SERIALIZED: &[&[u8]] = &[
    b"a:3:{s:14:\"whitelistedIPs\";s:9:\"127.0.0.1\";s:3:\"num\";i:5;s:1:\"f\";d:1.5;}",
    b"a:2:{i:0;a:1:{s:1:\"x\";b:1;}i:1;N;}",
    b"O:8:\"stdClass\":1:{s:4:\"name\";s:3:\"abc\";}",
];

const WP_CONFIG: &[u8] = b"<?php
define( 'DB_NAME', 'wpsite' );
define( 'DB_PASSWORD', 's3cr3t' );
define('DB_' . 'HOST', \"localhost\"); // define('OLD', 1);
const SMTP_PWD = 'x';
$table_prefix = 'wp_';
/* define('C', 1); */
define('WP_DEBUG', false); define('N', -5); define('F', 1.5);
require_once ABSPATH . 'wp-settings.php';
";

const HTACCESS: &[u8] = b"# BEGIN WordPress
<IfModule mod_rewrite.c>
RewriteEngine On
RewriteRule ^index\\.php$ - [L]
</IfModule>
# END WordPress
# Wordfence WAF
<IfModule mod_php7.c>
php_value auto_prepend_file '/home/u/public_html/wordfence-waf.php'
</IfModule>
# END Wordfence WAF
AuthType Basic
AuthName \"Members\"
AuthUserFile /home/u/.htpasswds/passwd
Require valid-user
#AIOWPS_IP_BLACKLIST_START
Deny from 10.0.0.1
#AIOWPS_IP_BLACKLIST_END
";

const WORDFENCE_WAF: &[u8] = b"<?php exit('Access denied'); __halt_compiler(); ?>
******************************************************************
This file is used by the Wordfence Web Application Firewall. Read
more at https://docs.wordfence.com/en/Web_Application_Firewall_FAQ
******************************************************************
a:3:{s:14:\"whitelistedIPs\";s:0:\"\";s:9:\"howGetIPs\";s:0:\"\";s:8:\"lockouts\";a:0:{}}";

const AIOS_SETTINGS: &[u8] = b"<?php __halt_compiler();
{\"aios_enable_whitelisting\":\"1\",\"aios_whitelisted_ips\":\"127.0.0.1\\n10.0.0.0/8\",\"n\":[1,2.5e3,true,null]}";

#[test]
fn serialized_values() {
    survives("serialized", SERIALIZED, |bytes| {
        let _ = serialized::parse(bytes);
    });
}

#[test]
fn firewall_files() {
    survives("wordfence waf config", &[WORDFENCE_WAF], |bytes| {
        let _ = WordfenceWafConfig::parse(bytes);
    });
    survives("aios settings", &[AIOS_SETTINGS], |bytes| {
        let _ = AiosFirewallSettings::parse(bytes);
        let _ = AiosAllowlist::parse(bytes);
    });
}

#[test]
fn wp_config_and_its_redaction() {
    survives("wp-config", &[WP_CONFIG], |bytes| {
        let text = lossy(bytes);
        let _ = wp_config::WpConfig::parse(&text);
        let _ = wp_config::redact(&text);
    });
}

#[test]
fn htaccess_markers_and_suggestions() {
    survives("htaccess", &[HTACCESS], |bytes| {
        let text = lossy(bytes);
        let htaccess = Htaccess::parse(&text);
        let _ = htaccess.basic_auth();
        let _ = htaccess.prepend_files();
        let _ = Markers::find(&text);
        let _ = text::printable(&text);
        for word in text.split_whitespace().take(8) {
            let _ = suggest::closest(word, ["RewriteRule", "AuthType", "php_value"]);
        }
    });
}

#[test]
fn allow_list_entries() {
    let ip = "10.0.0.7".parse().unwrap();
    let samples: &[&[u8]] = &[b"10.0.0.0/8", b"10.0.0.1-10.0.0.9", b"10.0.*.*", b"::1/128"];
    survives("ip list entries", samples, |bytes| {
        let _ = ip_list::entry_covers(&lossy(bytes), ip);
    });
}
