# shellcheck shell=sh
# dockerd under systemd (InitSystem.systemd), as root.
#   apply               puts a freshly installed drop-in into effect: one restart, the service enabled
#   stop | start | restart | kill
#   unconfigure DROPIN  takes our drop-in off and brings the host's own unit back on its unix socket
#   log                 dockerd's own last words (not systemd's restart chatter)
case $1 in
apply)
  # Reload first, then ONE restart: touching docker.sock between a stop and the start would
  # socket-activate the old unit. `systemctl enable` runs the LSB helpers for docker.io's init
  # script (0.4 s): only when the service is not enabled yet.
  systemctl daemon-reload && { systemctl is-enabled -q docker 2>/dev/null || systemctl enable docker >/dev/null 2>&1; }
  systemctl reset-failed docker.service docker.socket containerd.service 2>/dev/null
  systemctl restart docker
  ;;
stop)
  # Stop the socket too, or the next touch of docker.sock starts the engine again (where there
  # is one: Docker's static binaries come without a socket unit).
  if systemctl cat docker.socket >/dev/null 2>&1; then systemctl stop docker.socket docker.service; else systemctl stop docker.service; fi
  ;;
start)
  # reset-failed also resets systemd's start rate limit (docker.service: 3 starts a minute).
  systemctl reset-failed docker.service 2>/dev/null
  systemctl start docker.service
  ;;
restart)
  systemctl reset-failed docker.service 2>/dev/null
  systemctl restart docker.service
  ;;
kill)
  # SIGKILL, then stop so that Restart=always does not bring it back.
  systemctl stop docker.socket
  systemctl kill --signal=KILL docker.service
  sleep 0.5
  systemctl stop docker.service
  systemctl reset-failed docker.service 2>/dev/null
  true
  ;;
unconfigure)
  # Our drop-in had dockerd bind /var/run/docker.sock itself; stopping it removed that file, so
  # docker.socket (where the host has that unit) must be restarted, re-creating it, before the
  # stock unit (`-H fd://`) starts: otherwise dockerd runs but nothing answers on the socket.
  rm -f "$2"
  rmdir "$(dirname "$2")" 2>/dev/null
  systemctl daemon-reload && systemctl stop docker.service && systemctl reset-failed docker.service docker.socket 2>/dev/null
  { ! systemctl cat docker.socket >/dev/null 2>&1 || systemctl restart docker.socket; } && systemctl start docker.service
  ;;
log)
  j=$(journalctl -u docker --no-pager -n 60 -o cat 2>/dev/null)
  d=$(printf '%s\n' "$j" | grep -v -e 'docker.service' -e '^Stopped ' -e '^Started ' -e '^Starting ' | tail -n 5)
  if [ -n "$d" ]; then printf '%s\n' "$d"; else printf '%s\n' "$j" | tail -n 3; fi
  ;;
*)
  echo "$0: unknown action \"$1\"" >&2
  exit 2
  ;;
esac
