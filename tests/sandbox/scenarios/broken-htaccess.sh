# A caching snippet pasted with a typo: Apache refuses the whole file, so every URL is a 500
# and the error log names the directive.
as_site tee -a "$DOCROOT/.htaccess" >/dev/null <<'HTACCESS'

# BEGIN Browser caching
<IfModule mod_expires.c>
ExpiresActive On
ExpiresDefualt "access plus 1 month"
</IfModule>
# END Browser caching
HTACCESS
