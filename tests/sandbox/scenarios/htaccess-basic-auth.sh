# Directory privacy as a hosting panel writes it: every URL asks for a server-level password
# (401 with a realm) from every client, before WordPress runs.
as_site tee "$DOCROOT/.htaccess.new" >/dev/null <<HTACCESS
AuthType Basic
AuthName "Restricted Area"
AuthUserFile "$SITE_HOME/.htpasswds/public_html/passwd"
Require valid-user

$(cat "$DOCROOT/.htaccess")
HTACCESS
as_site mv "$DOCROOT/.htaccess.new" "$DOCROOT/.htaccess"
