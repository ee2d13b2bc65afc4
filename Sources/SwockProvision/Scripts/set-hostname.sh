# shellcheck shell=sh
# Sets the host name to $1 (checked by the caller: letters, digits, dots and dashes), now and
# after a reboot, and as 127.0.1.1 in /etc/hosts. As root.
(hostnamectl set-hostname "$1" 2>/dev/null || hostname "$1") && echo "$1" >/etc/hostname &&
  { { grep -q "127.0.1.1" /etc/hosts && sed -i "s/^127.0.1.1.*/127.0.1.1 $1/" /etc/hosts; } || echo "127.0.1.1 $1" >>/etc/hosts; }
