# shellcheck shell=sh
# Runs a get.docker.com-style install script from $1 (--engine-install-url), as root.
set -e
f=$(mktemp)
if command -v curl >/dev/null 2>&1; then curl -fsSL "$1" -o "$f"
elif command -v wget >/dev/null 2>&1; then wget -qO "$f" "$1"
else echo 'neither curl nor wget is installed' >&2; exit 1; fi
sh "$f"
rm -f "$f"
