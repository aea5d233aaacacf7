# Really Simple Security's two-factor by e-mail for the admin and for a second administrator,
# admin2 (same password), who must keep it; the admin cannot reach that mailbox any more. The
# right password from any address answers 200 with the code page and sets no login cookie.
install_fixture_plugin really-simple-ssl rlrsssl-really-simple-ssl.php
wp_php "\$id = wp_insert_user(array('user_login' => 'admin2', 'user_pass' => '$WP_ADMIN_PASSWORD',
    'user_email' => 'admin2@example.test', 'role' => 'administrator'));
  if (is_wp_error(\$id)) { fwrite(STDERR, \$id->get_error_message()); exit(1); }
  foreach (array(get_user_by('login', 'admin')->ID, \$id) as \$user) {
    update_user_meta(\$user, 'rsssl_two_fa_status_email', 'active') || exit(1);
    update_user_meta(\$user, 'rsssl_two_fa_status_totp', 'open') || exit(1);
  }"
