<?php
// Installs WordPress from the command line, as the web installer would, then turns on pretty
// permalinks (whose rules live in the .htaccess that the sandbox writes next to it).
// Usage: SITE_URL=… WP_ADMIN_PASSWORD=… php install-wordpress.php DOCROOT

$docroot = $argv[1];
$url = getenv('SITE_URL');
$_SERVER['HTTP_HOST'] = parse_url($url, PHP_URL_HOST) . ':' . parse_url($url, PHP_URL_PORT);
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';

define('WP_INSTALLING', true);
require $docroot . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/upgrade.php';

// No mail server here: the installer's welcome mail is not the point.
add_filter('pre_wp_mail', '__return_false');
if (!is_blog_installed()) {
    wp_install('wprescue sandbox', 'admin', 'admin@example.test', false, '', getenv('WP_ADMIN_PASSWORD'));
}
update_option('siteurl', $url);
update_option('home', $url);
update_option('permalink_structure', '/%postname%/');
echo "installed WordPress {$GLOBALS['wp_version']} at $url\n";
