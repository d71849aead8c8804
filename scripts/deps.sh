#!/usr/bin/env bash
# Installs the Debian 12 packages linegate builds and tests with, only those missing.
# Idempotent and non-interactive; needs root (or sudo) only when something is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config git python3
  libzmq3-dev cppzmq-dev libprotobuf-dev protobuf-compiler libssl-dev
  libgtest-dev libgmock-dev libbenchmark-dev
  libspdlog-dev libfmt-dev libyaml-cpp-dev
  libdpdk-dev iproute2 ethtool iputils-ping
  libspandsp-dev libbcg729-dev libopus-dev libspeexdsp-dev dahdi-source
  rtpengine-daemon
  kamailio sip-tester baresip tshark
)
if [ "${LINEGATE_DEPS_EXTRA:-}" != "" ]; then
  read -r -a extra <<<"$LINEGATE_DEPS_EXTRA"
  packages+=("${extra[@]}")
fi

missing=()
for p in "${packages[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then sudo="sudo"; fi
echo "linegate: installing missing Debian packages: ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -q
$sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
