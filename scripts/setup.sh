#!/usr/bin/env bash
# Installs what Handoff needs on a fresh Debian 12 machine, for one purpose:
#
#   scripts/setup.sh run     build and run the pipeline (make run)
#   scripts/setup.sh test    ... and run the tests (make test)
#   scripts/setup.sh bench   ... and run the benchmarks (make bench)
#
# It installs the Debian packages of scripts/packages.txt up to that role,
# and pinned Go tools into .tools/bin (the tests' external servers). It is
# idempotent and quick when everything is already there.
set -euo pipefail
cd "$(dirname "$0")/.."

role=${1:-run}
case $role in
run) roles="run" ;;
test) roles="run test" ;;
bench) roles="run test bench" ;;
fixtures) roles="run fixtures" ;;
*) echo "usage: scripts/setup.sh run|test|bench|fixtures" >&2; exit 2 ;;
esac

# Pinned Go tools for the tests: a real NATS server and an S3 server that
# publishes bucket events to NATS, run as separate processes.
NATS_SERVER_VERSION=v2.15.2
VERSITYGW_VERSION=v1.8.0

missing=()
while read -r r pkg _; do
  case $r in ''|\#*) continue ;; esac
  [[ " $roles " == *" $r "* ]] || continue
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

[ "$role" = run ] || [ "$role" = fixtures ] && exit 0

mkdir -p .tools/bin
export GOBIN="$PWD/.tools/bin"
install_tool() { # name module version
  local stamp=".tools/bin/.$1-$3"
  if [ ! -x ".tools/bin/$1" ] || [ ! -f "$stamp" ]; then
    echo "setup: go install $2@$3"
    GOFLAGS=-mod=mod go install "$2@$3"
    rm -f .tools/bin/."$1"-*
    touch "$stamp"
  fi
}
install_tool nats-server github.com/nats-io/nats-server/v2 "$NATS_SERVER_VERSION"
install_tool versitygw github.com/versity/versitygw/cmd/versitygw "$VERSITYGW_VERSION"
