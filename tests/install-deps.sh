#!/bin/sh
# tests/install-deps.sh - install what building, testing and benchmarking
# vpnns needs on Debian 12 / Ubuntu (run as root: sudo sh tests/install-deps.sh).
set -e
export DEBIAN_FRONTEND=noninteractive
apt-get update -q
apt-get install -y -q --no-install-recommends \
	build-essential pkg-config libglib2.0-dev libnl-3-dev libnl-route-3-dev libcap-dev \
	sudo passwd util-linux procps iproute2 socat mandoc groff-base man-db \
	hyperfine ocproxy
