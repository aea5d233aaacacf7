# WP 2FA with an authenticator app (TOTP) set up for the admin and for a second administrator,
# admin2 (same password), who must keep it; the admin lost the phone. The right password from
# any address answers 200 with the code page and sets no login cookie.
install_fixture_plugin wp-2fa wp-2fa.php
wp_php "\$id = wp_insert_user(array('user_login' => 'admin2', 'user_pass' => '$WP_ADMIN_PASSWORD',
    'user_email' => 'admin2@example.test', 'role' => 'administrator'));
  if (is_wp_error(\$id)) { fwrite(STDERR, \$id->get_error_message()); exit(1); }
  foreach (array(get_user_by('login', 'admin')->ID, \$id) as \$user) {
    update_user_meta(\$user, 'wp_2fa_enabled_methods', 'totp') || exit(1);
    update_user_meta(\$user, 'wp_2fa_totp_key', 'ssl_' . base64_encode(random_bytes(32))) || exit(1);
    update_user_meta(\$user, 'wp_2fa_2fa_status', 'has_enabled_methods') || exit(1);
  }"
