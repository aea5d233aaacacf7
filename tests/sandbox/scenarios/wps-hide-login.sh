# WPS Hide Login with the login page moved to /secret-door/ (whl_page, whl_redirect_admin = 404, as
# Settings > General saves them). Nothing outside the plugin folder. It locks out everyone who does
# not know the slug, from every address alike:
# GET or POST /wp-login.php answers the theme's 404 page (404); a logged-out GET /wp-admin/ redirects
# (302) to /404/, which is the theme's 404 page; "/" is 200; /secret-door/ is the login form, and a
# login POST there works.
install_fixture_plugin wps-hide-login wps-hide-login.php
wp_php "update_option('whl_page', sanitize_title_with_dashes('secret-door')) || exit(1);
  update_option('whl_redirect_admin', sanitize_title_with_dashes('404')) || exit(1);"
