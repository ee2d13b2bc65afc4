# shellcheck shell=sh
# Adopting the host's /etc/docker/daemon.json (DaemonJSON), as root.
#   keep existed|absent FILE BACKUP MARKER   keeps the original (or the mark that there was none)
#                                            the first time, for rm to restore
#   restore FILE BACKUP MARKER               puts the original back (rm)
#   reload-if-containers                     when containers run (a containerd shim is there), the
#                                            running daemon reloads its configuration (SIGHUP:
#                                            live-restore is reloadable) so that they survive the
#                                            restart that follows
#   reload                                   the running daemon reloads its configuration; fails
#                                            when none runs
case $1 in
keep)
  mkdir -p "$(dirname "$3")" || exit 1
  if [ "$2" = existed ]; then
    [ -e "$4" ] || [ -e "$5" ] || cp -p "$3" "$4"
  else
    [ -e "$4" ] || touch "$5"
  fi
  ;;
restore)
  if [ -f "$3" ]; then mv -f "$3" "$2"; elif [ -f "$4" ]; then rm -f "$2" "$4"; fi
  ;;
reload-if-containers)
  # `containerd-shi[m]`: the pattern must not match this very script, which sudo and sh carry on
  # their command lines. pidof may name several: each gets the signal.
  # shellcheck disable=SC2086
  if pgrep -f 'containerd-shi[m]' >/dev/null 2>&1; then pid=$(pidof dockerd) && kill -HUP $pid && sleep 0.3; fi; true
  ;;
reload)
  # shellcheck disable=SC2086
  pid=$(pidof dockerd) && kill -HUP $pid
  ;;
*)
  echo "$0: unknown action \"$1\"" >&2
  exit 2
  ;;
esac
