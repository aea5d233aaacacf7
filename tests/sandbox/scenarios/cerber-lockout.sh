# WP Cerber at its default limit: three failed logins as "admin" from 127.0.0.1 and three from
# 127.0.0.3, logged by the plugin's own cerber_login_failed() in cerber_log (activity 7), leave
# one row per address in cerber_blocks (reason_id 1, block_until 60 minutes ahead). Cerber's
# tables have no WordPress prefix: cerber_blocks, cerber_acl (empty), cerber_log. Settings: the
# site option cerber-main. Nothing outside the plugin folder.
# Locked addresses: every GET is 200; wp-login.php shows "You have exceeded the number of allowed
# login attempts" with the form hidden, and a correct-password login POST gets 403 with the same
# message. Free address: logs in.
install_fixture_plugin wp-cerber wp-cerber.php
wp_php "foreach (array('$LOCKED_IP', '$OTHER_LOCKED_IP') as \$ip) {
    for (\$i = 0; \$i < 3; \$i++) { cerber_login_failed('admin', \$ip); }
    cerber_get_block(\$ip) || exit(1);
  }"
