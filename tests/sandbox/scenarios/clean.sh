# The clean post-install state: nothing to add after the reset.
