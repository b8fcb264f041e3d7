#!/usr/bin/env bash
# Build the project's own Python base image from Debian packages, for machines that cannot pull
# a registry's base (the Makefile's LOCAL_BASE=1 calls this; needs root for debootstrap).
# Usage: sudo images/local-base.sh localhost/s1-python:3.11-bookworm [podman|docker]
#
# A minimal Debian 12 root filesystem with Debian's Python 3.11 (debootstrap), imported as an
# image. It stands in for python:3.11-slim-bookworm: the Dockerfiles create their own venv and
# only need `python3 -m venv`, CA certificates and `useradd`.
set -euo pipefail
image=${1:?usage: $0 IMAGE [podman|docker]}
engine=${2:-podman}
suite=${DEBIAN_SUITE:-bookworm}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}

root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates,passwd \
  "$suite" "$root" "$mirror" >&2
# Nothing of the build machine stays behind: apt's caches and lists, logs, the host's resolver.
rm -rf "$root"/var/cache/apt/archives/*.deb "$root"/var/lib/apt/lists/* "$root"/var/log/* \
  "$root"/etc/resolv.conf "$root"/etc/hostname
version=$(chroot "$root" python3 -c 'import platform; print(platform.python_version())')
tar --numeric-owner -C "$root" -c . | "$engine" import \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  --change 'ENV LANG=C.UTF-8' \
  --change 'CMD ["python3"]' \
  --message "debootstrap $suite minbase + python3 $version" - "$image" >&2
echo "$image: Debian $suite, Python $version"
