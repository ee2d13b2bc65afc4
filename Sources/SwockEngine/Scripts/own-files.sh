# shellcheck shell=sh
# The files our dockerd configuration is in on OpenRC and sysvinit hosts: how we know one is
# ours (its first line is HEADER) and keep the host's own one for rm to put back. As root.
#   keep HEADER SUFFIX PATH         keeps the host's own file at PATH (not ours) as PATH+SUFFIX,
#                                   the first time only
#   remove HEADER SUFFIX PATH...    takes off each PATH that is ours, putting the kept one back
#   check HEADER MARK PATH...       exits 3 printing MARK unless one of PATH is ours
action=$1 header=$2 arg=$3
shift 3
case $action in
keep)
  f=$1 b=$1$arg
  if [ -f "$f" ] && [ ! -e "$b" ] && [ "$(head -n 1 "$f")" != "$header" ]; then cp -p "$f" "$b"; fi
  true
  ;;
remove)
  for f in "$@"; do
    b=$f$arg
    if [ -f "$f" ] && [ "$(head -n 1 "$f")" = "$header" ]; then if [ -f "$b" ]; then mv -f "$b" "$f"; else rm -f "$f"; fi; fi
  done
  ;;
check)
  for f in "$@"; do
    [ "$(head -n 1 "$f" 2>/dev/null)" = "$header" ] && exit 0
  done
  echo "$arg"
  exit 3
  ;;
*)
  echo "$0: unknown action \"$action\"" >&2
  exit 2
  ;;
esac
