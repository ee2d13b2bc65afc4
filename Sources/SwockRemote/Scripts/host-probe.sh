# shellcheck shell=sh
# What one round trip tells about a host (HostProbe.parse reads it): OS, hostname,
# architecture, init system, where dockerd is. Runs as the login user; no arguments.
PATH="$PATH:/usr/local/sbin:/usr/sbin:/sbin"
echo '==os-release'; cat /etc/os-release 2>/dev/null || cat /usr/lib/os-release 2>/dev/null
echo '==hostname'; hostname 2>/dev/null || cat /etc/hostname 2>/dev/null
echo '==arch'; uname -m
echo '==init'
if [ -d /run/systemd/system ]; then echo systemd
elif command -v openrc >/dev/null 2>&1 || [ -d /run/openrc ]; then echo openrc
elif [ "$(cat /proc/1/comm 2>/dev/null)" = init ] && { [ -f /etc/inittab ] || [ -x /etc/init.d/docker ]; }; then echo sysvinit
else echo none; fi
echo '==dockerd'; command -v dockerd 2>/dev/null || true
echo '==dnf'; command -v dnf 2>/dev/null || true
echo '==containerd'
if [ -d /run/systemd/system ]; then
  unit=$(systemctl show -p FragmentPath --value docker.service 2>/dev/null)
  [ -n "$unit" ] && [ -f "$unit" ] && grep -v '^#' "$unit" | grep -o -- '--containerd=[^ "]*' | tail -n 1
fi
echo '==service-script'
if [ -f /etc/init.d/docker ]; then
  if head -n 1 /etc/init.d/docker | grep -q openrc-run; then echo openrc-run; else echo lsb; fi
fi
echo '==end'
