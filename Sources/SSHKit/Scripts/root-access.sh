# shellcheck shell=sh
# Are we root, or may we use passwordless sudo? Prints the uid, then the groups (the caller
# tells sudoers from other users by them); exits 90 when the host has no sudo, 91 when
# `sudo -n` fails (a password is needed, or the user may not use sudo), so the caller decides
# on the status, never on sudo's words.
# -k: credentials sudo cached (timestamp_type=global, or an earlier sudo of ours) must not pass
# for passwordless sudo. No arguments.
id -u && id -Gn && { [ "$(id -u)" = 0 ] || { command -v sudo >/dev/null 2>&1 || exit 90; sudo -k -n true 2>/dev/null || exit 91; }; }
