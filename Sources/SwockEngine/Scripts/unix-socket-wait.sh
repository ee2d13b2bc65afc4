# shellcheck shell=sh
# Exits 0 once dockerd answers on /var/run/docker.sock, 1 after $1 tries a quarter second apart.
i=0
while [ "$i" -lt "$1" ]; do
  if command -v docker >/dev/null 2>&1; then docker -H unix:///var/run/docker.sock version >/dev/null 2>&1 && exit 0
  elif command -v curl >/dev/null 2>&1; then curl -sf --unix-socket /var/run/docker.sock http://docker/_ping >/dev/null 2>&1 && exit 0
  else test -S /var/run/docker.sock && exit 0; fi
  i=$((i + 1))
  sleep 0.25
done
exit 1
