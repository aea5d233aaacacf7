<?php
// Test-sandbox only: runs PHP code with WordPress loaded, the way the scenario scripts set up a
// lockout through the same WordPress APIs the real plugins use.
// Usage: php wp-eval.php DOCROOT 'php code'

$docroot = $argv[1];
$_SERVER['HTTP_HOST'] = '127.0.0.10:18080';
$_SERVER['REQUEST_URI'] = '/';
$_SERVER['SERVER_PROTOCOL'] = 'HTTP/1.1';
$_SERVER['SERVER_ADDR'] = '127.0.0.10';
$_SERVER['REMOTE_ADDR'] = '127.0.0.10';
require $docroot . '/wp-load.php';
require_once ABSPATH . 'wp-admin/includes/plugin.php';
eval($argv[2]);
