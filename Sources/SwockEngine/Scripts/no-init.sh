# shellcheck shell=sh
# dockerd without an init system (InitSystem.none): we start it detached and keep its pid, as root.
#   stop PIDFILE                          TERM, up to 10 s; forgets the pid
#   kill PIDFILE
#   start PIDFILE LOGFILE [NAME=VALUE...] DOCKERD [ARG...]
#                                         stops the one we started before, starts this one
#                                         detached (its own session), records its pid
#   unconfigure PIDFILE LOGFILE DOCKERD   stops ours; starts the host's dockerd on its unix socket only
#   log LOGFILE                           dockerd's last words
action=$1
stop_detached() {
  if [ -f "$1" ]; then
    kill "$(cat "$1")" 2>/dev/null
    for _ in $(seq 1 50); do kill -0 "$(cat "$1")" 2>/dev/null || break; sleep 0.2; done
    rm -f "$1"
  fi
}
case $action in
stop)
  stop_detached "$2"
  ;;
kill)
  if [ -f "$2" ]; then kill -KILL "$(cat "$2")"; rm -f "$2"; fi
  true
  ;;
start | restart)
  pidfile=$2 logfile=$3
  shift 3
  stop_detached "$pidfile"
  setsid env "$@" </dev/null >>"$logfile" 2>&1 &
  echo $! >"$pidfile"
  ;;
unconfigure)
  stop_detached "$2"
  setsid "$4" -H unix:///var/run/docker.sock </dev/null >>"$3" 2>&1 &
  ;;
log)
  tail -q -n 5 "$2" /var/log/docker.log 2>/dev/null | tail -n 5
  ;;
*)
  echo "$0: unknown action \"$action\"" >&2
  exit 2
  ;;
esac
