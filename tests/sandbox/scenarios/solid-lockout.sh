# Kadence (formerly Solid / iThemes) Security with IP detection configured: five failed logins from
# 127.0.0.1 (as "admin") and five from 127.0.0.3 (as "administrator", a name that does not exist, so
# the ten failures do not add up to a lockout of the admin user), recorded by the plugin's own
# ITSEC_Lockout::do_lockout(), leave five host rows per address (and five user rows for admin) in
# itsec_temp and one active host lockout per address in itsec_lockouts. No file changes beyond the
# activation's .htaccess / wp-config.php blocks.
# Locked addresses: 403 "You have been locked out of this site" on every URL. Free address: normal site.
install_fixture_plugin better-wp-security better-wp-security.php
wp_php "foreach (array('$LOCKED_IP' => 'admin', '$OTHER_LOCKED_IP' => 'administrator') as \$ip => \$user) {
    \$context = new \\iThemesSecurity\\Lib\\Lockout\\Host_Context('brute_force', \$ip);
    for (\$i = 0; \$i < 5; \$i++) { \$id = \$GLOBALS['itsec_lockout']->do_lockout(\$context, \$user); }
    \$id || exit(1);
  }"
