# shellcheck shell=sh
# dockerd under OpenRC (InitSystem.openrc), as root.
#   apply                        puts a freshly installed configuration into effect (one restart), enabled
#   stop | start | restart | kill
#   log LOGFILE                  dockerd's last words
case $1 in
apply)
  rc-update add docker default >/dev/null 2>&1
  rc-service docker restart
  ;;
stop | start | restart)
  rc-service docker "$1"
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
