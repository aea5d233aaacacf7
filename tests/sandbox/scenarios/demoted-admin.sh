# The admin is no longer an admin: their role was changed to subscriber (by mistake, or by an
# intruder). They still log in, to a profile page without the admin menus; only the role in
# their capabilities ({prefix}capabilities) and user level ({prefix}user_level = 0) says why.
wp_php "\$user = get_user_by('login', 'admin') or exit(1); \$user->set_role('subscriber');"
