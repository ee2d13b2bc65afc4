# shellcheck shell=sh
# Appends the public key line read on stdin to the login user's authorized_keys, unless it is
# there already. As the login user; no arguments.
umask 077
mkdir -p ~/.ssh && k="$(cat)" && touch ~/.ssh/authorized_keys &&
  { grep -qxF "$k" ~/.ssh/authorized_keys || printf '%s\n' "$k" >>~/.ssh/authorized_keys; }
