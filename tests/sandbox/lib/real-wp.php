<?php
// Test-sandbox only, real-plugin tier: runs PHP code with WordPress loaded (wp-load.php and
// wp-admin/includes/plugin.php), so that the provisioning and the scenarios set the real plugins
// up through the plugins' own functions, never by writing their tables or options by hand.
// Usage: php real-wp.php DOCROOT SITE_URL 'php code'
//
// The request looks as if it came from the server itself (REMOTE_ADDR = the site's own address),
// never from one of the addresses a scenario locks out.

$docroot = $argv[1];
$url = $argv[2];
$host = parse_url($url, PHP_URL_HOST);
$_SERVER['HTTP_HOST'] = $host . ':' . parse_url($url, PHP_URL_PORT);
$_SERVER['SERVER_NAME'] = $host;
$_SERVER['SERVER_PORT'] = (string) parse_url($url, PHP_URL_PORT);
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';
$_SERVER['SERVER_ADDR'] = $host;
$_SERVER['REMOTE_ADDR'] = $host;
$_SERVER['SCRIPT_FILENAME'] = $docroot . '/index.php';
// As Apache sets it for mod_php (the caller passes `apache2 -v`'s version).
$_SERVER['SERVER_SOFTWARE'] = getenv('SERVER_SOFTWARE') ?: 'Apache';
// Wordfence's firewall keeps its files (wp-content/wflogs/) read-only under the CLI unless this,
// its own switch for command-line tools, is set: the firewall settings we save must reach them.
define('WFWAF_ALWAYS_ALLOW_FILE_WRITING', true);
require $docroot . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';
// No mail server here.
add_filter('pre_wp_mail', '__return_false');

/** Activates $file (folder/main.php) as the admin would, or exits 1 saying why. */
function sandbox_activate($file) {
    wp_set_current_user(1);
    $r = activate_plugin($file);
    if (is_wp_error($r)) {
        fwrite(STDERR, "activate $file: " . $r->get_error_message() . "\n");
        exit(1);
    }
}

/** Exits 1 with $message unless $ok. */
function sandbox_check($ok, $message) {
    if (!$ok) {
        fwrite(STDERR, $message . "\n");
        exit(1);
    }
}

eval($argv[3]);
