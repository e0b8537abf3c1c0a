#!/usr/bin/env bash
# Installs what building, running and testing Handoff needs on a fresh
# Debian 12 machine: the Debian packages in scripts/packages.txt and pinned Go
# tools (nats-server and versitygw for the external-mode tests) in .tools/bin.
# Idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

NATS_SERVER_VERSION=v2.15.2
VERSITYGW_VERSION=v1.8.0

missing=()
while read -r pkg; do
  pkg=${pkg%%#*}; pkg=${pkg//[[:space:]]/}
  [ -z "$pkg" ] && continue
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done < scripts/packages.txt

if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing Debian packages: ${missing[*]}"
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

command -v go >/dev/null || { echo "setup: Go 1.26 is required (https://go.dev/dl/)" >&2; exit 1; }

mkdir -p .tools/bin
export GOBIN="$PWD/.tools/bin"
install_tool() { # name module version
  local stamp=".tools/bin/.$1-$3"
  if [ ! -x ".tools/bin/$1" ] || [ ! -f "$stamp" ]; then
    echo "setup: go install $2@$3"
    GOFLAGS=-mod=mod go install "$2@$3"
    touch "$stamp"
  fi
}
install_tool nats-server github.com/nats-io/nats-server/v2 "$NATS_SERVER_VERSION"
install_tool versitygw github.com/versity/versitygw/cmd/versitygw "$VERSITYGW_VERSION"
