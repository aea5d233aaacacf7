# Kadence (formerly Solid / iThemes) Security with IP detection configured: five failed logins as
# "admin" from 127.0.0.1, recorded by the plugin's own ITSEC_Lockout::do_lockout(), leave five host
# (and five user) rows in itsec_temp and one active host lockout in itsec_lockouts. No file changes
# beyond the activation's .htaccess / wp-config.php blocks.
# Locked address: 403 "You have been locked out of this site" on every URL. Free address: normal site.
install_fixture_plugin better-wp-security better-wp-security.php
wp_php "\$context = new \\iThemesSecurity\\Lib\\Lockout\\Host_Context('brute_force', '$LOCKED_IP');
  for (\$i = 0; \$i < 5; \$i++) { \$id = \$GLOBALS['itsec_lockout']->do_lockout(\$context, 'admin'); }
  \$id || exit(1);"
