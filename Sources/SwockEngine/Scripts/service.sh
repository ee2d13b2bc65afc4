# shellcheck shell=sh
# dockerd as a service of OpenRC or sysvinit (InitSystem.openrc, InitSystem.sysvinit), as root.
# $1 is the init system (openrc or sysvinit), then:
#   apply                        puts a freshly installed configuration into effect (one restart), enabled
#   stop | start | restart | kill
#   log LOGFILE                  dockerd's last words
init=$1
shift
case $init in
openrc) tool=rc-service ;;
sysvinit) tool=service ;;
*)
  echo "$0: unknown init system \"$init\"" >&2
  exit 2
  ;;
esac
case $1 in
apply)
  if [ "$init" = openrc ]; then
    rc-update add docker default >/dev/null 2>&1
  elif command -v update-rc.d >/dev/null 2>&1; then
    update-rc.d docker defaults >/dev/null 2>&1
  fi
  "$tool" docker restart
  ;;
stop | start | restart)
  "$tool" docker "$1"
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
