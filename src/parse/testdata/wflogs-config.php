<?php exit('Access denied'); __halt_compiler(); ?>
******************************************************************
This file is used by the Wordfence Web Application Firewall. Read 
more at https://docs.wordfence.com/en/Web_Application_Firewall_FAQ
******************************************************************
a:4:{s:9:"wafStatus";s:7:"enabled";s:7:"version";s:5:"1.1.0";s:7:"authKey";s:64:"0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";s:13:"attackDataKey";i:100;}