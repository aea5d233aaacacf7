//! What each lockout scenario leaves in the database and on disk, read back and compared with
//! security-plugins.md (sections 1-4, and section 8 where it differs): table and option names,
//! serialization shapes, binary IPs, the exact headers of the firewalls' own files, the marker
//! blocks in `.htaccess` and `wp-config.php`, and the files the plugins write outside their
//! folders. The fixtures' HTTP behaviour is checked in `scenarios.rs`.

use std::path::Path;

use regex::Regex;

use crate::harness::Sandbox;

/// 127.0.0.1 as Wordfence stores it: 16 bytes, IPv4-mapped (`::ffff:127.0.0.1`).
const LOCKED_IP_HEX16: &str = "00000000000000000000FFFF7F000001";
/// The same 16 bytes in base64, as the firewall's JSON copies hold them.
const LOCKED_IP_BASE64_16: &str = "AAAAAAAAAAAAAP//fwAAAQ==";
/// 127.0.0.3, the other locked address, in the same two forms.
const OTHER_LOCKED_IP_HEX16: &str = "00000000000000000000FFFF7F000003";
const OTHER_LOCKED_IP_BASE64_16: &str = "AAAAAAAAAAAAAP//fwAAAw==";

const WFLOGS_HEADER: &str = "<?php exit('Access denied'); __halt_compiler(); ?>\n";
const WFLOGS_BANNER: &str = "******************************************************************\n\
This file is used by the Wordfence Web Application Firewall. Read \n\
more at https://docs.wordfence.com/en/Web_Application_Firewall_FAQ\n\
******************************************************************\n";

pub(crate) const AIOS_PREFIX_START: &str = "<?php __halt_compiler();\n/**\n * This file was created by All In One Security (AIOS) plugin.\n";
const AIOS_SETTINGS_DESCRIPTION: &str =
    " * The file is required for storing and retrieving your firewall's settings.\n */\n";
pub(crate) const AIOS_ALLOWLIST_DESCRIPTION: &str =
    " * The file is required for storing and retrieving your firewall's allow list.\n */\n";

const KADENCE_BEGIN: &str = "BEGIN Kadence Security - Do not modify or remove this line";
const KADENCE_END: &str = "END Kadence Security - Do not modify or remove this line";

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()))
}

/// A table's columns, in order, comma-separated.
fn columns(sb: &Sandbox, table: &str) -> String {
    sb.sql(&format!(
        "SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS \
         WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = '{table}'"
    ))
}

/// An option's value byte for byte: `mariadb -B` would print a newline inside it as `\n`.
pub(crate) fn option(sb: &Sandbox, name: &str) -> String {
    let hex = sb.sql(&format!(
        "SELECT HEX(option_value) FROM wp_options WHERE option_name = '{name}'"
    ));
    let bytes = (0..hex.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).expect("hex from MariaDB"))
        .collect();
    String::from_utf8(bytes).expect("a UTF-8 option value")
}

/// The string stored under `key` in a PHP-serialized array (`s:N:"key";s:M:"value";`), after
/// checking that M is the value's byte length, i.e. that PHP's `unserialize()` would accept it.
pub(crate) fn serialized_string<'a>(data: &'a str, key: &str) -> &'a str {
    let needle = format!("s:{}:\"{key}\";s:", key.len());
    let start = data
        .find(&needle)
        .unwrap_or_else(|| panic!("no string under {key:?} in {data}"))
        + needle.len();
    let rest = &data[start..];
    let colon = rest.find(':').expect("s:LEN:");
    let len: usize = rest[..colon].parse().expect("a string length");
    assert_eq!(&rest[colon..colon + 2], ":\"", "in {data}");
    let value = &rest[colon + 2..colon + 2 + len];
    assert_eq!(
        &rest[colon + 2 + len..colon + 4 + len],
        "\";",
        "the length of {key:?} is wrong in {data}"
    );
    value
}

/// The serialized array of a wflogs `config*.php` file, after checking its two exact headers.
pub(crate) fn wflogs_payload(path: &Path) -> String {
    let text = read(path);
    let payload = text
        .strip_prefix(WFLOGS_HEADER)
        .and_then(|rest| rest.strip_prefix(WFLOGS_BANNER))
        .unwrap_or_else(|| {
            panic!(
                "{} lacks the wflogs header and banner:\n{text}",
                path.display()
            )
        });
    assert!(
        payload.starts_with("a:") && payload.ends_with('}'),
        "{}: not a serialized array: {payload}",
        path.display()
    );
    payload.to_owned()
}

/// The JSON after an AIOS firewall file's prefix, after checking the prefix byte for byte.
fn aios_payload(path: &Path, description: &str) -> String {
    let text = read(path);
    let payload = text
        .strip_prefix(AIOS_PREFIX_START)
        .and_then(|rest| rest.strip_prefix(description))
        .unwrap_or_else(|| panic!("{} lacks the exact AIOS prefix:\n{text}", path.display()));
    payload.to_owned()
}

#[test]
fn wordfence_block_is_stored_in_wfblocks7_and_copied_to_config_synced() {
    let sb = Sandbox::lock();
    sb.scenario("wordfence-block");
    let docroot = sb.docroot();

    assert_eq!(
        columns(&sb, "wp_wfblocks7"),
        "id,type,IP,blockedTime,reason,lastAttempt,blockedHits,expiration,parameters"
    );
    assert_eq!(
        sb.sql(
            "SELECT COLUMN_TYPE FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = DATABASE() \
                AND TABLE_NAME = 'wp_wfblocks7' AND COLUMN_NAME = 'IP'"
        ),
        "binary(16)"
    );
    assert_eq!(
        sb.sql("SELECT type, HEX(IP), reason, expiration FROM wp_wfblocks7 ORDER BY id"),
        format!(
            "1\t{LOCKED_IP_HEX16}\tManual block by administrator\t0\n\
             1\t{OTHER_LOCKED_IP_HEX16}\tManual block by administrator\t0"
        )
    );
    assert_eq!(columns(&sb, "wp_wfconfig"), "name,val,autoload");
    assert_eq!(
        sb.sql(
            "SELECT name, val FROM wp_wfconfig WHERE name IN \
                ('whitelisted', 'firewallEnabled', 'disableWAFIPBlocking') ORDER BY name"
        ),
        "disableWAFIPBlocking\t0\nfirewallEnabled\t1\nwhitelisted\t"
    );
    assert_eq!(option(&sb, "wordfence_case"), "1");
    assert_eq!(
        option(&sb, "active_plugins"),
        "a:1:{i:0;s:23:\"wordfence/wordfence.php\";}"
    );

    // The firewall's copy: the same block, IP as base64 of the 16 bytes, inside a JSON string.
    let wflogs = docroot.join("wp-content/wflogs");
    let synced = wflogs_payload(&wflogs.join("config-synced.php"));
    assert_eq!(serialized_string(&synced, "whitelistedIPs"), "");
    assert_eq!(serialized_string(&synced, "advancedBlockingEnabled"), "1");
    assert_eq!(serialized_string(&synced, "disableWAFIPBlocking"), "0");
    assert_eq!(
        serialized_string(&synced, "pluginABSPATH"),
        format!("{}/", docroot.display())
    );
    let other_blocks = serialized_string(&synced, "otherBlocks").replace("\\/", "/");
    assert_eq!(
        other_blocks,
        format!(
            "{{\"blockedTime\":\"300\",\"blocks\":[{{\"id\":1,\"IP\":\"{LOCKED_IP_BASE64_16}\",\
             \"reason\":\"Manual block by administrator\",\"expiration\":0}},\
             {{\"id\":2,\"IP\":\"{OTHER_LOCKED_IP_BASE64_16}\",\
             \"reason\":\"Manual block by administrator\",\"expiration\":0}}]}}"
        )
    );
    assert_eq!(
        serialized_string(&synced, "lockouts"),
        "{\"lockedOutTime\":14400,\"lockouts\":[]}"
    );
    for file in ["config.php", "config-transient.php", "config-livewaf.php"] {
        wflogs_payload(&wflogs.join(file));
    }
    assert_eq!(
        read(&wflogs.join(".htaccess")),
        "<IfModule mod_authz_core.c>\n\tRequire all denied\n</IfModule>\n\
         <IfModule !mod_authz_core.c>\n\tOrder deny,allow\n\tDeny from all\n</IfModule>"
    );

    // wordfence-waf.php guards its include and defines the log path.
    assert_eq!(
        read(&docroot.join("wordfence-waf.php")),
        "<?php\n// Before removing this file, please verify the PHP ini setting `auto_prepend_file` \
         does not point to this.\n\n\
         if (file_exists(__DIR__.'/wp-content/plugins/wordfence/waf/bootstrap.php')) {\n\
         \tdefine(\"WFWAF_LOG_PATH\", __DIR__.'/wp-content/wflogs/');\n\
         \tinclude_once __DIR__.'/wp-content/plugins/wordfence/waf/bootstrap.php';\n}"
    );

    // The .htaccess block, appended after WordPress's own block as the real installer does.
    let htaccess = read(&docroot.join(".htaccess"));
    let waf = docroot.join("wordfence-waf.php");
    let prepend = format!("\tphp_value auto_prepend_file '{}'\n", waf.display());
    let block = format!(
        "# Wordfence WAF\n\
         <IfModule mod_php5.c>\n{prepend}</IfModule>\n\
         <IfModule mod_php7.c>\n{prepend}</IfModule>\n\
         <IfModule mod_php.c>\n{prepend}</IfModule>\n\
         <Files \".user.ini\">\n<IfModule mod_authz_core.c>\n\tRequire all denied\n</IfModule>\n\
         <IfModule !mod_authz_core.c>\n\tOrder deny,allow\n\tDeny from all\n</IfModule>\n</Files>\n\
         \n# END Wordfence WAF\n"
    );
    assert!(
        htaccess.ends_with(&format!("# END WordPress\n\n\n{block}")),
        ".htaccess:\n{htaccess}"
    );
    assert!(
        htaccess.starts_with("# BEGIN WordPress\n"),
        ".htaccess:\n{htaccess}"
    );
    // Wordfence writes no wp-config.php edit and no mu-plugin.
    assert!(!read(&docroot.join("wp-config.php")).contains("Wordfence"));
    let mu_plugins = std::fs::read_dir(docroot.join("wp-content/mu-plugins"))
        .expect("wp-content/mu-plugins")
        .count();
    assert_eq!(mu_plugins, 0, "Wordfence writes no mu-plugin");
}

#[test]
fn orphan_prepend_leaves_the_htaccess_directive_pointing_at_a_missing_file() {
    let sb = Sandbox::lock();
    sb.scenario("orphan-prepend");
    let docroot = sb.docroot();
    let waf = docroot.join("wordfence-waf.php");
    assert!(!waf.exists(), "{} should be gone", waf.display());
    assert!(!docroot.join("wp-content/plugins/wordfence").exists());
    let htaccess = read(&docroot.join(".htaccess"));
    assert_eq!(
        htaccess
            .matches(&format!("php_value auto_prepend_file '{}'", waf.display()))
            .count(),
        3,
        ".htaccess:\n{htaccess}"
    );
    // What the plugin left elsewhere is still there, as on a real site.
    assert_eq!(
        option(&sb, "active_plugins"),
        "a:1:{i:0;s:23:\"wordfence/wordfence.php\";}"
    );
    assert!(docroot.join("wp-content/wflogs/config-synced.php").exists());
    assert_eq!(sb.sql("SELECT COUNT(*) FROM wp_wfblocks7"), "0");
}

#[test]
fn solid_lockout_is_one_active_itsec_lockouts_row_and_five_itsec_temp_rows_per_address() {
    let sb = Sandbox::lock();
    sb.scenario("solid-lockout");
    let docroot = sb.docroot();

    assert_eq!(
        columns(&sb, "wp_itsec_lockouts"),
        "lockout_id,lockout_type,lockout_start,lockout_start_gmt,lockout_expire,lockout_expire_gmt,\
         lockout_host,lockout_user,lockout_username,lockout_active,lockout_context"
    );
    assert_eq!(
        sb.sql(
            "SELECT lockout_type, lockout_host, lockout_user IS NULL, lockout_active, \
                lockout_expire_gmt > UTC_TIMESTAMP(), \
                TIMESTAMPDIFF(MINUTE, lockout_start_gmt, lockout_expire_gmt) FROM wp_itsec_lockouts \
                ORDER BY lockout_id"
        ),
        "brute_force\t127.0.0.1\t1\t1\t1\t15\nbrute_force\t127.0.0.3\t1\t1\t1\t15"
    );
    for context in sb
        .sql("SELECT lockout_context FROM wp_itsec_lockouts")
        .lines()
    {
        assert!(
            context.starts_with("O:40:\"iThemesSecurity\\\\Lib\\\\Lockout\\\\Host_Context\":"),
            "lockout_context: {context}"
        );
    }
    // Per address five host rows; per name five user rows (admin) or username rows (unknown).
    assert_eq!(
        sb.sql(
            "SELECT temp_type, temp_host, temp_user IS NOT NULL, temp_username, COUNT(*) \
                FROM wp_itsec_temp GROUP BY 1, 2, 3, 4 ORDER BY 2, 4"
        ),
        "brute_force\tNULL\t1\tadmin\t5\nbrute_force\tNULL\t0\tadministrator\t5\n\
         brute_force\t127.0.0.1\t0\tNULL\t5\nbrute_force\t127.0.0.3\t0\tNULL\t5"
    );
    assert_eq!(
        sb.sql("SELECT module, code FROM wp_itsec_logs ORDER BY id"),
        "lockout\thost-lockout::127.0.0.1\nlockout\thost-lockout::127.0.0.3"
    );

    let storage = option(&sb, "itsec-storage");
    assert!(
        storage.contains("s:18:\"lockout_white_list\";a:0:{}"),
        "itsec-storage: {storage}"
    );
    assert_eq!(serialized_string(&storage, "proxy"), "security-check");
    assert_eq!(serialized_string(&storage, "ip_header"), "REMOTE_ADDR");
    let modules = option(&sb, "itsec_active_modules");
    assert!(
        modules.starts_with("a:") && modules.contains("s:11:\"brute-force\";b:1;"),
        "itsec_active_modules: {modules}"
    );

    let htaccess = read(&docroot.join(".htaccess"));
    assert!(
        htaccess.starts_with(&format!(
            "# {KADENCE_BEGIN}\n# Kadence Security Config Details: 2\n"
        )),
        ".htaccess:\n{htaccess}"
    );
    for dir in ["uploads", "plugins", "themes"] {
        let rule = format!(
            "\t\tRewriteRule ^wp\\-content/{dir}/.*\\.(?:php[1-7]?|pht|phtml?|phps)\\.?$ - [NC,F]\n"
        );
        assert!(
            htaccess.contains(&rule),
            "no {rule:?} in .htaccess:\n{htaccess}"
        );
    }
    assert!(
        htaccess.contains(&format!("# {KADENCE_END}\n\n# BEGIN WordPress\n")),
        ".htaccess:\n{htaccess}"
    );
    let wp_config = read(&docroot.join("wp-config.php"));
    assert!(
        wp_config.starts_with(&format!(
            "<?php\n\n// {KADENCE_BEGIN}\n// Kadence Security Config Details: 2\n\
             define( 'DISALLOW_FILE_EDIT', true ); // Disable File Editor - Security > Settings > \
             WordPress Tweaks > File Editor\n// {KADENCE_END}\n\n/**"
        )),
        "wp-config.php:\n{wp_config}"
    );
}

#[test]
fn aios_blacklist_is_in_the_option_and_in_the_firewall_settings_file() {
    let sb = Sandbox::lock();
    sb.scenario("aios-blacklist");
    let docroot = sb.docroot();

    let configs = option(&sb, "aio_wp_security_configs");
    assert!(
        configs.starts_with("a:"),
        "aio_wp_security_configs: {configs}"
    );
    assert_eq!(
        serialized_string(&configs, "aiowps_enable_blacklisting"),
        "1"
    );
    assert_eq!(
        serialized_string(&configs, "aiowps_banned_ip_addresses"),
        "127.0.0.1\n127.0.0.3"
    );
    assert_eq!(
        serialized_string(&configs, "aiowps_ip_retrieve_method"),
        "0"
    );
    assert_eq!(
        serialized_string(&configs, "aiowps_lockdown_allowed_ip_addresses"),
        ""
    );
    assert_eq!(
        serialized_string(&configs, "aiowps_allowed_ip_addresses"),
        ""
    );

    let rules = docroot.join("wp-content/uploads/aios/firewall-rules");
    let settings = aios_payload(&rules.join("settings.php"), AIOS_SETTINGS_DESCRIPTION);
    assert!(
        settings.starts_with('{') && settings.ends_with('}'),
        "settings.php JSON: {settings}"
    );
    for pair in [
        "\"aiowps_blacklist_ips\":[\"127.0.0.1\",\"127.0.0.3\"]",
        "\"aiowps_enable_blacklisting\":\"1\"",
        "\"aios_ip_retrieve_method\":\"0\"",
    ] {
        assert!(
            settings.contains(pair),
            "no {pair} in settings.php: {settings}"
        );
    }
    assert_eq!(
        aios_payload(&rules.join("allowlist.php"), AIOS_ALLOWLIST_DESCRIPTION),
        ""
    );

    let bootstrap = docroot.join("aios-bootstrap.php");
    let firewall = "__DIR__.'/wp-content/plugins/all-in-one-wp-security-and-firewall/classes/firewall/wp-security-firewall.php'";
    assert_eq!(
        read(&bootstrap),
        format!(
            "<?php\n/**\t\n * @version 1.0.2\n * WARNING: Please do not delete this file.\n * \n \
             * This will cause PHP to throw a fatal error and render your site unusable.\n * \n \
             * To safely delete this file, please check both your .user.ini file and your php.ini \
             file and ensure this file is not set in the auto_prepend_file directive.\n * \n \
             * Please ask your web hosting provider if you need guidance with executing the \
             aforementioned steps.\n */\n\
             $GLOBALS['aiowps_firewall_rules_path'] = __DIR__.'/wp-content/uploads/aios/firewall-rules/';\n\n\
             $GLOBALS['aiowps_firewall_data'] = array(\n\t'ABSPATH' => '{}/',\n);\n\n\
             // Begin AIOWPSEC Firewall\nif (file_exists({firewall})) {{\n\tinclude_once({firewall});\n}}\n\
             // End AIOWPSEC Firewall\n",
            docroot.display()
        )
    );

    let prepend = format!(
        "\t\tphp_value auto_prepend_file '{}'\n",
        bootstrap.display()
    );
    let htaccess = read(&docroot.join(".htaccess"));
    assert!(
        htaccess.ends_with(&format!(
            "# END WordPress\n\n# Begin AIOWPSEC Firewall\n\
             \t<IfModule mod_php5.c>\n{prepend}\t</IfModule>\n\
             \t<IfModule mod_php7.c>\n{prepend}\t</IfModule>\n\
             \t<IfModule mod_php.c>\n{prepend}\t</IfModule>\n# End AIOWPSEC Firewall"
        )),
        ".htaccess:\n{htaccess}"
    );
    let include = format!(
        "// Begin AIOWPSEC Firewall\nif (file_exists('{0}')) {{\n\tinclude_once('{0}');\n}}\n\
         // End AIOWPSEC Firewall\n",
        bootstrap.display()
    );
    let wp_config = read(&docroot.join("wp-config.php"));
    assert!(
        wp_config.starts_with(&format!("<?php\n{include}/**\n")),
        "wp-config.php:\n{wp_config}"
    );
    assert_eq!(
        read(&docroot.join("wp-content/mu-plugins/aios-firewall-loader.php")),
        format!("<?php\n{include}")
    );
    // The sandbox's wp-config.php has CRLF line ends (Debian's wp-config-sample.php); the backup
    // is a byte copy, while the real writer (file() + implode(PHP_EOL)) leaves LF behind.
    let backup = read(&docroot.join("wp-content/aiowps_backups/backup.wp-config.php"));
    assert!(
        backup.starts_with("<?php\r\n/**") && !backup.contains("AIOWPSEC"),
        "the backup is the wp-config.php from before the firewall setup:\n{backup}"
    );
}

#[test]
fn aios_login_lockdown_is_one_aiowps_login_lockdown_row_per_address_released_in_an_hour() {
    let sb = Sandbox::lock();
    sb.scenario("aios-login-lockdown");

    assert_eq!(
        columns(&sb, "wp_aiowps_login_lockdown"),
        "id,user_id,user_login,lockdown_date,created,release_date,released,failed_login_ip,\
         lock_reason,unlock_key,is_lockout_email_sent,backtrace_log,ip_lookup_result"
    );
    assert_eq!(
        sb.sql("SELECT user_id, user_login, failed_login_ip, lock_reason, released > UNIX_TIMESTAMP(), \
                released - created, TIMESTAMPDIFF(MINUTE, lockdown_date, release_date) \
                FROM wp_aiowps_login_lockdown ORDER BY id"),
        "1\tadmin\t127.0.0.1\ttoo_many_failed_logins\t1\t3600\t60\n\
         1\tadmin\t127.0.0.3\ttoo_many_failed_logins\t1\t3600\t60"
    );
    let configs = option(&sb, "aio_wp_security_configs");
    assert_eq!(
        serialized_string(&configs, "aiowps_enable_login_lockdown"),
        "1"
    );
    assert_eq!(
        serialized_string(&configs, "aiowps_lockdown_enable_whitelisting"),
        ""
    );
    // The blacklist stays empty in both copies.
    assert_eq!(
        serialized_string(&configs, "aiowps_banned_ip_addresses"),
        ""
    );
    let settings = aios_payload(
        &sb.docroot()
            .join("wp-content/uploads/aios/firewall-rules/settings.php"),
        AIOS_SETTINGS_DESCRIPTION,
    );
    assert!(
        settings.contains("\"aiowps_blacklist_ips\":[]"),
        "settings.php JSON: {settings}"
    );
}

#[test]
fn llar_lockout_is_in_the_limit_login_options_only() {
    let sb = Sandbox::lock();
    sb.scenario("llar-lockout");

    let now: i64 = sb.sql("SELECT UNIX_TIMESTAMP()").parse().unwrap();
    let lockouts = option(&sb, "limit_login_lockouts");
    let shape =
        Regex::new(r#"^a:2:\{s:9:"127\.0\.0\.1";i:(\d+);s:9:"127\.0\.0\.3";i:(\d+);\}$"#).unwrap();
    let found = shape
        .captures(&lockouts)
        .unwrap_or_else(|| panic!("limit_login_lockouts: {lockouts}"));
    for expiry in [&found[1], &found[2]] {
        let expiry: i64 = expiry.parse().unwrap();
        assert!(
            (now + 1100..=now + 1200).contains(&expiry),
            "expiry {expiry} is not ~20 minutes after {now}"
        );
    }
    assert_eq!(
        option(&sb, "limit_login_retries"),
        "a:2:{s:9:\"127.0.0.1\";i:4;s:9:\"127.0.0.3\";i:4;}"
    );
    let valid = option(&sb, "limit_login_retries_valid");
    assert!(
        Regex::new(r#"^a:2:\{s:9:"127\.0\.0\.1";i:\d+;s:9:"127\.0\.0\.3";i:\d+;\}$"#)
            .unwrap()
            .is_match(&valid),
        "limit_login_retries_valid: {valid}"
    );
    assert_eq!(option(&sb, "limit_login_whitelist"), "a:0:{}");
    assert_eq!(option(&sb, "limit_login_active_app"), "local");
    assert_eq!(
        option(&sb, "limit_login_trusted_ip_origins"),
        "a:1:{i:0;s:11:\"REMOTE_ADDR\";}"
    );

    assert_nothing_outside_the_plugin_folder(&sb);
}

#[test]
fn loginizer_lockout_is_one_loginizer_logs_row_per_address() {
    let sb = Sandbox::lock();
    sb.scenario("loginizer-lockout");

    assert_eq!(
        columns(&sb, "wp_loginizer_logs"),
        "username,time,count,lockout,ip,url"
    );
    assert_eq!(
        sb.sql(
            "SELECT INDEX_NAME, NON_UNIQUE, COLUMN_NAME FROM information_schema.STATISTICS \
                WHERE TABLE_SCHEMA = DATABASE() AND TABLE_NAME = 'wp_loginizer_logs'"
        ),
        "ip\t0\tip"
    );
    assert_eq!(
        sb.sql(
            "SELECT ip, username, count, lockout, time BETWEEN UNIX_TIMESTAMP() - 120 AND \
                UNIX_TIMESTAMP(), url FROM wp_loginizer_logs ORDER BY ip"
        ),
        format!(
            "127.0.0.1\tadmin\t3\t1\t1\t{0}\n127.0.0.3\tadmin\t3\t1\t1\t{0}",
            sb.url("/wp-login.php")
        )
    );
    assert_eq!(option(&sb, "loginizer_version"), "2.0.1");
    for name in [
        "loginizer_options",
        "loginizer_whitelist",
        "loginizer_blacklist",
        "loginizer_2fa_whitelist",
    ] {
        assert_eq!(option(&sb, name), "a:0:{}", "{name}");
    }
    // Never saved by the owner: the plugin reads its absence as REMOTE_ADDR.
    assert_eq!(option(&sb, "loginizer_ip_method"), "");
    assert_eq!(
        option(&sb, "active_plugins"),
        "a:1:{i:0;s:23:\"loginizer/loginizer.php\";}"
    );
    assert_nothing_outside_the_plugin_folder(&sb);
}

#[test]
fn wps_hide_login_is_the_whl_options_only() {
    let sb = Sandbox::lock();
    sb.scenario("wps-hide-login");
    assert_eq!(option(&sb, "whl_page"), "secret-door");
    assert_eq!(option(&sb, "whl_redirect_admin"), "404");
    assert_eq!(
        option(&sb, "active_plugins"),
        "a:1:{i:0;s:33:\"wps-hide-login/wps-hide-login.php\";}"
    );
    assert_eq!(
        sb.sql(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
                AND TABLE_NAME LIKE '%whl%'"
        ),
        "0"
    );
    assert_nothing_outside_the_plugin_folder(&sb);
}

/// The plugin left `.htaccess` as WordPress wrote it and added nothing to `wp-config.php`.
fn assert_nothing_outside_the_plugin_folder(sb: &Sandbox) {
    let docroot = sb.docroot();
    let clean_htaccess =
        read(&Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/sandbox/lib/htaccess-wordpress"));
    assert_eq!(read(&docroot.join(".htaccess")), clean_htaccess);
    let wp_config = read(&docroot.join("wp-config.php"));
    assert!(
        !wp_config.contains("BEGIN") && !wp_config.contains("AIOWPSEC"),
        "wp-config.php:\n{wp_config}"
    );
    let mu_plugins = std::fs::read_dir(docroot.join("wp-content/mu-plugins"))
        .expect("wp-content/mu-plugins")
        .count();
    assert_eq!(mu_plugins, 0, "no mu-plugin");
}

#[test]
fn reset_removes_every_file_and_table_a_fixture_wrote() {
    let sb = Sandbox::lock();
    sb.scenario("aios-blacklist");
    sb.reset();
    let docroot = sb.docroot();
    for file in [
        "aios-bootstrap.php",
        "wordfence-waf.php",
        "wp-content/mu-plugins/aios-firewall-loader.php",
        "wp-content/uploads/aios",
        "wp-content/aiowps_backups",
        "wp-content/plugins/all-in-one-wp-security-and-firewall",
    ] {
        assert!(!docroot.join(file).exists(), "{file} survived the reset");
    }
    assert!(!read(&docroot.join("wp-config.php")).contains("AIOWPSEC"));
    assert!(!read(&docroot.join(".htaccess")).contains("AIOWPSEC"));
    assert_eq!(
        sb.sql(
            "SELECT COUNT(*) FROM information_schema.TABLES WHERE TABLE_SCHEMA = DATABASE() \
                AND TABLE_NAME = 'wp_aiowps_login_lockdown'"
        ),
        "0"
    );
    assert_eq!(option(&sb, "aio_wp_security_configs"), "");
}
