<?php __halt_compiler();
/**
 * This file was created by All In One Security (AIOS) plugin.
 * The file is required for storing and retrieving your firewall's settings.
 */
{"aiowps_enable_pingback_firewall":false,"aiowps_forbid_proxy_comments":false,"aiowps_deny_bad_query_strings":false,"aiowps_advanced_char_string_filter":false,"aios_enable_brute_force_attack_prevention":"","aios_brute_force_secret_word":"","aios_login_page_slug":"","aios_ip_retrieve_method":"0","aiowps_blacklist_user_agents":[],"aiowps_enable_blacklisting":"1","aiowps_blacklist_ips":["127.0.0.1"]}