# Limit Login Attempts Reloaded in local mode after four failed logins as "admin" from 127.0.0.1 and
# four from 127.0.0.3, counted by the plugin's own wp_login_failed handler: limit_login_lockouts
# holds both addresses with an expiry 20 minutes ahead
# (a:2:{s:9:"127.0.0.1";i:EXPIRY;s:9:"127.0.0.3";i:EXPIRY;}), plus limit_login_retries / _retries_valid.
# Every GET is 200 for every address; a correct-password login POST from a locked address gets the
# form back (200) with "Too many failed login attempts. Please try again in 20 minutes."; 127.0.0.2
# logs in.
install_fixture_plugin limit-login-attempts-reloaded limit-login-attempts-reloaded.php
wp_php "foreach (array('$LOCKED_IP', '$OTHER_LOCKED_IP') as \$ip) {
    for (\$i = 0; \$i < 4; \$i++) { LLAR_Fixture::limit_login_failed('admin', \$ip); }
    isset(LLAR_Fixture::get('lockouts')[\$ip]) || exit(1);
  }"
