# Limit Login Attempts Reloaded in local mode after four failed logins as "admin" from 127.0.0.1,
# counted by the plugin's own wp_login_failed handler: limit_login_lockouts holds 127.0.0.1 with an
# expiry 20 minutes ahead (a:1:{s:9:"127.0.0.1";i:EXPIRY;}), plus limit_login_retries / _retries_valid.
# Every GET is 200 for both addresses; a correct-password login POST from 127.0.0.1 gets the form back
# (200) with "Too many failed login attempts. Please try again in 20 minutes."; 127.0.0.2 logs in.
install_fixture_plugin limit-login-attempts-reloaded limit-login-attempts-reloaded.php
wp_php "for (\$i = 0; \$i < 4; \$i++) { LLAR_Fixture::limit_login_failed('admin', '$LOCKED_IP'); }
  isset(LLAR_Fixture::get('lockouts')['$LOCKED_IP']) || exit(1);"
