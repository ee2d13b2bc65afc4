# shellcheck shell=sh
# Reads a key's base64 blob on stdin and drops every line of the login user's authorized_keys
# that has it as a field (with or without options in front, whatever the comment). The rest of
# the file, its mode and its owner stay: the new contents are written next to it from a `cp -p`
# copy and renamed over it (a symlinked file: its target). As the login user; no arguments.
k="$(cat)"; f="$HOME/.ssh/authorized_keys"
[ -n "$k" ] && [ -e "$f" ] || exit 0
f="$(readlink -f "$f")"
grep -qF -- "$k" "$f" || exit 0
t="$f.swock-rm.$$"
if cp -p "$f" "$t" && awk -v k="$k" '{ for (i = 1; i <= NF; i++) if ($i == k) next; print }' "$f" > "$t" && mv -f "$t" "$f"; then
  exit 0
fi
rm -f "$t"; echo "cannot rewrite $f" >&2; exit 1
