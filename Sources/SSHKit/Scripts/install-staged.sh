# shellcheck shell=sh
# Installs one file uploaded to a private staging place into its root-owned place, atomically
# (SSHSession.installAsRoot(_:at:mode:owner:), for hosts without tar).
#   $1 STAGED  $2 MODE (octal)  $3 OWNER  $4 GROUP  $5 PATH
staged=$1 mode=$2 owner=$3 group=$4 path=$5
mkdir -p "$(dirname "$path")" &&
  install -m "$mode" -o "$owner" -g "$group" "$staged" "$path.swock-new" &&
  mv -f "$path.swock-new" "$path"
