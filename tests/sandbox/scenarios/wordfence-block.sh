# Wordfence 8.x, firewall in extended protection (auto_prepend_file through wordfence-waf.php), and
# 127.0.0.1 blocked by hand: a wfblocks7 row of type 1 that the plugin's own sync copies into
# wp-content/wflogs/config-synced.php, where the firewall enforces it before WordPress loads.
# Locked address: 503 "Your access to this site has been limited by the site owner" on every URL
# (wp-admin/ gets the plugin's own 503 page). Free address: 200.
install_fixture_plugin wordfence wordfence.php
wp_php "wfBlock::createIP('Manual block by administrator', '$LOCKED_IP', 0);
  wfWAFIPBlocksController::synchronizeConfigSettings() || exit(1);"
