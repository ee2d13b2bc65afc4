# shellcheck shell=sh
# Runs the provision script given on stdin, as root: written to a private temporary file (so its
# `#!` line is honoured and its own stdin is not the script: it reads /dev/null), run, removed.
# The script's contents never appear on a command line. Exits with the script's status; 125 when
# no temporary file could be made.
f=$(mktemp /tmp/swock-provision-script.XXXXXX) || exit 125
trap 'rm -f "$f"' EXIT
cat >"$f" && chmod 700 "$f" && "$f" </dev/null
