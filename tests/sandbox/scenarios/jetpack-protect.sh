# Jetpack's brute-force protection flagged both locked addresses (blocked-hard, cached from
# WordPress.com in a jpp_li_ transient per address): wp-login.php answers them 500 with
# "Jetpack has locked your site's login page."; other pages load; the free address logs in.
install_fixture_plugin jetpack jetpack.php
wp_php "foreach (array('$LOCKED_IP', '$OTHER_LOCKED_IP') as \$ip) {
    set_transient('jpp_li_' . md5(wp_json_encode(array('REMOTE_ADDR' => \$ip))),
      array('status' => 'blocked-hard', 'msg' => 'This IP is flagged'), DAY_IN_SECONDS) || exit(1);
  }"
