# Loginizer 2.0.1 with its defaults after three failed logins as "admin" from 127.0.0.1 and three from
# 127.0.0.3, counted by the plugin's own wp_login_failed handler as requests to wp-login.php from those
# addresses would be: one loginizer_logs row per address (count 3, lockout 1, time = now). Nothing
# outside the plugin folder; loginizer_ip_method left unset (REMOTE_ADDR), as on a site whose owner
# never changed it.
# Every URL but wp-login.php is untouched. For a locked address, wp-login.php -- the form (GET) and a
# login POST even with the right password -- answers 200 with the form and "You have exceeded maximum
# login retries<br /> Please try after 15 minute(s)"; 127.0.0.2 logs in.
install_fixture_plugin loginizer loginizer.php
wp_php "\$_SERVER['REQUEST_URI'] = '/wp-login.php';
  foreach (array('$LOCKED_IP', '$OTHER_LOCKED_IP') as \$ip) {
    \$GLOBALS['loginizer']['current_ip'] = \$ip;
    for (\$i = 0; \$i < 3; \$i++) { loginizer_login_failed('admin'); }
    loginizer_can_login() && exit(1);
  }"
