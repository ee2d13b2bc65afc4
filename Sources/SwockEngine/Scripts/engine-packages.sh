# shellcheck shell=sh
# Docker Engine with the host's package manager, as root (EngineInstallPlan, EngineLifecycle).
#   install FAMILY [dnf|yum]   FAMILY: debian rhel alpine suse arch (rhel: dnf or yum)
#   upgrade FAMILY
#   repair                     Debian: waits for an apt/dpkg run still going on the host (say, one
#                              whose SSH session was cut), then finishes an interrupted dpkg run
#                              (prints "repaired" when there was one)
apt_get() { apt-get -o DPkg::Lock::Timeout=300 "$@"; }
case $1/$2 in
install/debian)
  # Wait for other apt/dpkg runs (cloud-init, unattended-upgrades) instead of failing, and first
  # finish anything an earlier, interrupted install left half done. One attempt: its own error
  # is the one worth showing.
  export DEBIAN_FRONTEND=noninteractive
  dpkg --configure -a
  apt_get -o Acquire::Retries=3 install -f -y -q
  # dockerd loads its container profile with apparmor_parser whenever the kernel enforces
  # AppArmor; docker.io only recommends the package, so an image set to skip recommends lacks it
  # and every `docker run` fails ("the docker-default profile could not be loaded").
  set -- docker.io
  if [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ] && ! command -v apparmor_parser >/dev/null; then
    set -- "$@" apparmor
  fi
  apt_get -o Acquire::Retries=3 update -q && apt_get -o Acquire::Retries=3 install -y -q "$@"
  ;;
install/rhel)
  if [ "$3" = dnf ]; then dnf install -y moby-engine || dnf install -y docker; else yum install -y docker; fi
  ;;
install/alpine)
  apk add --no-cache docker && { rc-update add docker default || true; }
  ;;
install/suse)
  zypper --non-interactive install docker
  ;;
install/arch | upgrade/arch)
  pacman -Sy --noconfirm docker
  ;;
upgrade/debian)
  # On sysvinit/OpenRC hosts our DOCKER_OPTS sit in docker.io's conffile /etc/default/docker: a
  # new package version must keep it, not stop at dpkg's conffile question (no terminal).
  export DEBIAN_FRONTEND=noninteractive
  dpkg --configure -a
  apt_get update -q && apt_get -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold install -y -q --only-upgrade docker.io
  ;;
upgrade/rhel)
  { command -v dnf >/dev/null && dnf upgrade -y moby-engine docker; } || yum update -y docker
  ;;
upgrade/alpine)
  apk upgrade --no-cache docker
  ;;
upgrade/suse)
  zypper --non-interactive update docker
  ;;
repair/)
  for _ in $(seq 1 600); do pgrep -x 'apt-get|apt|dpkg|unattended-upgr' >/dev/null || break; sleep 0.5; done
  if [ -n "$(dpkg --audit 2>/dev/null)" ]; then
    export DEBIAN_FRONTEND=noninteractive
    dpkg --configure -a && apt_get install -f -y -q >/dev/null && echo repaired
  fi
  ;;
*)
  echo "$0: unknown action \"$1 $2\"" >&2
  exit 2
  ;;
esac
