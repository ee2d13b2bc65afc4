# shellcheck shell=sh
# Are we root, or may we use passwordless sudo? Prints the uid, then the groups (the caller
# tells sudoers from other users by them); exits non-zero when neither root nor `sudo -n` works.
# -k: credentials sudo cached (timestamp_type=global, or an earlier sudo of ours) must not pass
# for passwordless sudo. No arguments.
id -u && id -Gn && { [ "$(id -u)" = 0 ] || sudo -k -n true; }
