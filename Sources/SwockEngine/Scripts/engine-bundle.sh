# shellcheck shell=sh
# Docker Engine from a bundle uploaded to the host (EngineBundle), as root.
#   apt-simulate FILE...          apt's dry run of the .deb files, with no package source at all
#   apt-install FILE...           the install itself
#   static-check                  Docker's static binaries need iptables: is it there?
#   static-install DIR INIT       unpacks DIR/docker.tgz into /usr/local/bin and makes dockerd a
#                                 service: the docker group, and for INIT systemd a docker.service
#                                 unit (ours, unless the host has one already) that our drop-in
#                                 then configures like a packaged one
action=$1
shift
offline_apt() {
  export DEBIAN_FRONTEND=noninteractive
  apt-get -o Dir::Etc::SourceList=/dev/null -o Dir::Etc::SourceParts=/dev/null \
    -o DPkg::Lock::Timeout=300 "$@"
}
case $action in
apt-simulate)
  offline_apt install --simulate -q "$@"
  ;;
apt-install)
  offline_apt install -y -q --no-install-recommends "$@"
  ;;
static-check)
  PATH="$PATH:/usr/sbin:/sbin"
  command -v iptables >/dev/null
  ;;
static-install)
  set -e
  cd "$1"
  tar -xzf docker.tgz
  for f in docker/*; do install -m 0755 "$f" /usr/local/bin/; done
  getent group docker >/dev/null || groupadd -r docker 2>/dev/null || addgroup -S docker 2>/dev/null || true
  if [ "$2" = systemd ]; then
    if ! systemctl cat docker.service >/dev/null 2>&1; then
      cat >/etc/systemd/system/docker.service <<'UNIT'
[Unit]
Description=Docker Application Container Engine (static binaries, installed by swock-machine)
After=network-online.target
Wants=network-online.target

[Service]
Type=notify
ExecStart=/usr/local/bin/dockerd -H unix:///var/run/docker.sock
ExecReload=/bin/kill -s HUP $MAINPID
LimitNOFILE=infinity
LimitNPROC=infinity
TasksMax=infinity
Delegate=yes
KillMode=process
Restart=on-failure
OOMScoreAdjust=-500

[Install]
WantedBy=multi-user.target
UNIT
    fi
    systemctl daemon-reload
  fi
  ;;
*)
  echo "$0: unknown action \"$action\"" >&2
  exit 2
  ;;
esac
