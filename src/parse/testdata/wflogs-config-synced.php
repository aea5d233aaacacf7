<?php exit('Access denied'); __halt_compiler(); ?>
******************************************************************
This file is used by the Wordfence Web Application Firewall. Read 
more at https://docs.wordfence.com/en/Web_Application_Firewall_FAQ
******************************************************************
a:12:{s:14:"whitelistedIPs";s:0:"";s:9:"howGetIPs";s:0:"";s:13:"pluginABSPATH";s:25:"/home/wpsite/public_html/";s:7:"siteURL";s:23:"http://127.0.0.10:18080";s:7:"homeURL";s:23:"http://127.0.0.10:18080";s:6:"isPaid";b:0;s:13:"patternBlocks";s:2:"[]";s:13:"countryBlocks";s:52:"{"blocks":[],"action":false,"loggedInBlocked":false}";s:11:"otherBlocks";s:131:"{"blockedTime":"300","blocks":[{"id":1,"IP":"AAAAAAAAAAAAAP\/\/fwAAAQ==","reason":"Manual block by administrator","expiration":0}]}";s:8:"lockouts";s:37:"{"lockedOutTime":14400,"lockouts":[]}";s:23:"advancedBlockingEnabled";s:1:"1";s:20:"disableWAFIPBlocking";s:1:"0";}