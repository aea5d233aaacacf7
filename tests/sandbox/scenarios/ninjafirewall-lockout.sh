# NinjaFirewall's brute-force protection detected an attack on wp-login.php and locked it for
# everyone (every address alike, as it does) behind its own password page: GET or POST
# /wp-login.php answers 401 "Brute-force protection by NinjaFirewall" for the next 60 minutes;
# other pages load. The lock is an empty marker file in wp-content/nfwlog/cache/.
install_fixture_plugin ninjafirewall ninjafirewall.php
as_site mkdir -p "$DOCROOT/wp-content/nfwlog/cache"
as_site tee "$DOCROOT/wp-content/nfwlog/ninjafirewall.php" >/dev/null <<LOADER
<?php
// NinjaFirewall's loader: the firewall, if the plugin is still there.
if (file_exists('$DOCROOT/wp-content/plugins/ninjafirewall/lib/firewall.php')) {
	@include_once '$DOCROOT/wp-content/plugins/ninjafirewall/lib/firewall.php';
}
LOADER
as_site php -r 'echo "<?php exit; ?>\n", serialize(array("bf_enable" => 1, "bf_type" => 0,
  "bf_request" => "GETPOST", "bf_bantime" => 60, "bf_attempt" => 5, "bf_maxtime" => 15,
  "bf_rand" => "4041711", "auth_name" => "guard", "auth_pass" => sha1("not-known")));' \
  | as_site tee "$DOCROOT/wp-content/nfwlog/cache/login_protection.php" >/dev/null
as_site touch "$DOCROOT/wp-content/nfwlog/cache/bf_blocked-1-$HTTP_HOST-4041711"
{
  printf '# BEGIN NinjaFirewall\n<IfModule mod_php.c>\n   php_value auto_prepend_file %s\n</IfModule>\n# END NinjaFirewall\n' \
    "$DOCROOT/wp-content/nfwlog/ninjafirewall.php"
  cat "$DOCROOT/.htaccess"
} | as_site tee "$DOCROOT/.htaccess.new" >/dev/null
as_site mv "$DOCROOT/.htaccess.new" "$DOCROOT/.htaccess"
