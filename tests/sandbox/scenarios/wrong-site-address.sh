# The site moved to this server but WordPress's own address (home and siteurl, Settings >
# General) still names the old domain, as after a migration that copied the database as it was.
# Every page redirects there for everyone: GET / answers 301 to http://old-domain.example/, and
# wp-admin sends to the old domain's login page.
wp_php "update_option('home', 'http://old-domain.example') || exit(1);
  update_option('siteurl', 'http://old-domain.example') || exit(1);"
