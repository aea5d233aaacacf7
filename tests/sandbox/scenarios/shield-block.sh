# Shield Security with an automatic block on 127.0.0.1 and on 127.0.0.3: each address has its row
# in wp_icwp_wpsf_ips (ip as INET6_ATON stores it, 4 bytes) and an 'AB' rule in
# wp_icwp_wpsf_ip_rules pointing at it (ip_ref), 10 offenses, blocked_at now, written by the
# plugin's own add_auto_block(). The real plugin would refuse to block a loopback address: the
# fixture keeps its storage and lets these two stand for public ones. Nothing outside the plugin
# folder.
# Locked addresses: 503 "Access from your IP address has been temporarily restricted" on every
# URL. Free address: normal site.
install_fixture_plugin wp-simple-firewall icwp-wpsf.php
wp_php "foreach (array('$LOCKED_IP', '$OTHER_LOCKED_IP') as \$ip) {
    ICWP_WPSF_Fixture::add_auto_block(\$ip, 10) || exit(1);
    ICWP_WPSF_Fixture::is_blocked(\$ip) || exit(1);
  }"
