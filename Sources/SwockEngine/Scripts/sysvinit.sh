# shellcheck shell=sh
# dockerd under sysvinit (InitSystem.sysvinit), as root.
#   apply                        puts a freshly installed configuration into effect (one restart), enabled
#   stop | start | restart | kill
#   log LOGFILE                  dockerd's last words
case $1 in
apply)
  if command -v update-rc.d >/dev/null 2>&1; then update-rc.d docker defaults >/dev/null 2>&1; fi
  service docker restart
  ;;
stop | start | restart)
  service docker "$1"
  ;;
kill)
  pkill -KILL -x dockerd
  true
  ;;
log)
  tail -q -n 5 "$2" /var/log/docker.log 2>/dev/null | tail -n 5
  ;;
*)
  echo "$0: unknown action \"$1\"" >&2
  exit 2
  ;;
esac
