# An update died half way and left WordPress's .maintenance behind, written the way some
# deployment scripts and plugins write it: with "$upgrading = time();", so it never ages out
# (WordPress only ignores a literal timestamp older than 10 minutes). Every URL answers 503
# "Briefly unavailable for scheduled maintenance" with Retry-After: 600, for every address.
as_site tee "$DOCROOT/.maintenance" >/dev/null <<'MAINTENANCE'
<?php $upgrading = time(); ?>
MAINTENANCE
