# Defender (WPMU DEV) with login protection at its threshold of 5: five failed logins as "admin"
# from 127.0.0.1 and five from 127.0.0.3, counted by the plugin's own process_fail_attempt(),
# leave one 'blocked' row per address in wp_defender_lockout (release_time 4 hours ahead, the
# login lockout message), and auth_fail / auth_lock rows in wp_defender_lockout_log. Settings are
# the site options wd_login_lockout_settings and wd_blacklist_lockout_settings (JSON, empty
# ip_whitelist). Nothing outside the plugin folder.
# Locked addresses: 403 "Access Denied" (locked_page_header) with "You have been locked out due to
# too many invalid login attempts." on every URL. Free address: normal site.
install_fixture_plugin defender-security wp-defender.php
wp_php "foreach (array('$LOCKED_IP', '$OTHER_LOCKED_IP') as \$ip) {
    for (\$i = 0; \$i < 5; \$i++) { WP_Defender_Fixture::process_fail_attempt('admin', \$ip); }
    \$row = WP_Defender_Fixture::get(\$ip);
    \$row['status'] === 'blocked' || exit(1);
  }"
