# shellcheck shell=sh
# Installs root-owned files in one round trip (SSHSession.installAsRoot(_:before:then:)).
# stdin: a tar stream whose entries are named 0, 1, 2 ... in the order of the files below.
#   $1  a command line to run after the bytes arrived, before any file moves ("": none)
#   $2  a command line to run once every file is in place ("": none); its status is ours
#   then for each file: MODE (octal) OWNER GROUP PATH
# Prints $3 (the installed mark) once every file is in place. Exits 111 when there is no tar
# (the caller then installs the files one by one over SFTP).
command -v tar >/dev/null 2>&1 || exit 111
set -e
umask 077
before=$1 then=$2 mark=$3
shift 3
d=$(mktemp -d "${TMPDIR:-/tmp}/swock.XXXXXXXX")
trap 'rm -rf "$d"' EXIT
tar -x -f - -C "$d"
# `set -e` does not stop at a failure inside an && list: each step says `|| exit 1` itself.
if [ -n "$before" ]; then sh -c "$before" || exit 1; fi
i=0
while [ $# -ge 4 ]; do
  mode=$1 owner=$2 group=$3 path=$4
  shift 4
  { mkdir -p "$(dirname "$path")" && install -m "$mode" -o "$owner" -g "$group" "$d/$i" "$path.swock-new" && mv -f "$path.swock-new" "$path"; } || exit 1
  i=$((i + 1))
done
echo "$mark"
set +e
if [ -n "$then" ]; then sh -c "$then"; fi
