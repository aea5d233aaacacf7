# All-In-One Security 5.4 with its PHP firewall set up (aios-bootstrap.php prepended from .htaccess,
# also included from wp-config.php and the mu-plugin), and 127.0.0.1 and 127.0.0.3 in the IP
# blacklist: written by the plugin's own blacklist code to both the option aio_wp_security_configs
# and the firewall's wp-content/uploads/aios/firewall-rules/settings.php. The firewall enforces
# settings.php only.
# Locked addresses: 403 with an empty body on every URL. Free address: normal site.
install_fixture_plugin all-in-one-wp-security-and-firewall wp-security.php
wp_php "AIOWPSecurity_Blocking::add_ips_to_blacklist(array('$LOCKED_IP', '$OTHER_LOCKED_IP')) || exit(1);"
