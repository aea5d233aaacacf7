# As wrong-site-address, but the old address is fixed in wp-config.php (WP_HOME and
# WP_SITEURL, which win over the options), as hosts and migration guides often set it: the
# options are right, so only an edit of wp-config.php brings the site back.
as_site sed -i "s|^/\* Add any custom values between this line and the \"stop editing\" line. \*/|&\ndefine( 'WP_HOME', 'http://old-domain.example' );\ndefine( 'WP_SITEURL', 'http://old-domain.example' );|" "$DOCROOT/wp-config.php"
grep -q "WP_SITEURL" "$DOCROOT/wp-config.php"
