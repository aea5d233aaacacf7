# Wordfence's firewall was installed in extended protection, then someone deleted the plugin folder
# and wordfence-waf.php while .htaccess still has "php_value auto_prepend_file .../wordfence-waf.php"
# (the "# Wordfence WAF" block). PHP treats the prepend like require: HTTP 500 for everyone, and the
# error log says "Failed opening required '.../wordfence-waf.php'". The database still lists the plugin
# as active and wp-content/wflogs/ stays behind, as on a real site.
install_fixture_plugin wordfence wordfence.php
rm -rf "$DOCROOT/wp-content/plugins/wordfence" "$DOCROOT/wordfence-waf.php"
