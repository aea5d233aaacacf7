# Wordfence 8.x, firewall in extended protection (auto_prepend_file through wordfence-waf.php), and
# 127.0.0.1 and 127.0.0.3 blocked by hand: one wfblocks7 row of type 1 each, which the plugin's own
# sync copies into wp-content/wflogs/config-synced.php, where the firewall enforces them before
# WordPress loads.
# Locked addresses: 503 "Your access to this site has been limited by the site owner" on every URL
# (wp-admin/ gets the plugin's own 503 page). Free address: 200.
install_fixture_plugin wordfence wordfence.php
wp_php "foreach (array('$LOCKED_IP', '$OTHER_LOCKED_IP') as \$ip) { wfBlock::createIP('Manual block by administrator', \$ip, 0) || exit(1); }
  wfWAFIPBlocksController::synchronizeConfigSettings() || exit(1);"
