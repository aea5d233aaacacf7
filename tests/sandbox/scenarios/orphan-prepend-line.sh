# A hand-made firewall loader, set up by a former developer with one line at the top of
# .htaccess (outside any marker block, as no plugin writes it), whose folder was deleted since.
# PHP treats the prepend like require: HTTP 500 for everyone, and the error log says
# "Failed opening required '.../site-shield/loader.php'". The rest of .htaccess is WordPress's.
{
  printf 'php_value auto_prepend_file "%s/site-shield/loader.php"\n\n' "$DOCROOT"
  cat "$DOCROOT/.htaccess"
} | as_site tee "$DOCROOT/.htaccess.new" >/dev/null
as_site mv "$DOCROOT/.htaccess.new" "$DOCROOT/.htaccess"
