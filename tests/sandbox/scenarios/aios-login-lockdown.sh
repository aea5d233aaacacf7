# All-In-One Security 5.4 with login lockdown on, and 127.0.0.1 and 127.0.0.3 each locked after three
# failed logins as "admin": one row per address in aiowps_login_lockdown (failed_login_ip,
# release_date and `released` an hour ahead), written by the plugin's own lock_the_user().
# Locked addresses: "/" is 200, but GET /wp-login.php and a correct login POST get 503
# "Service temporarily unavailable". Free address: logs in.
install_fixture_plugin all-in-one-wp-security-and-firewall wp-security.php
wp_php "\$c = AIOWPSecurity_Config::get_instance(); \$c->set_value('aiowps_enable_login_lockdown', '1'); \$c->save_config();
  foreach (array('$LOCKED_IP', '$OTHER_LOCKED_IP') as \$ip) {
    \$GLOBALS['aiowps_user_login']->lock_the_user('admin', 'too_many_failed_logins', \$ip, 3) || exit(1);
  }"
