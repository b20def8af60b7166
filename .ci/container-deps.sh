#!/usr/bin/env bash
# System packages and configuration for tests/integration/test_image.py, which builds the
# Dockerfile and runs it: podman (with buildah and runc) and mmdebstrap (the local base image;
# no registry is reachable here). Idempotent: installs only what is missing, and rewrites the
# containers.conf only when its content would change. See ../shared/notes/containers.md.
set -euo pipefail

# podman and buildah build and run the image; runc is the runtime this VM supports;
# mmdebstrap makes the local base image; catatonit is what `podman run --init` runs;
# netavark + aardvark-dns give a `podman network` with names; iptables publishes ports.
packages=(podman buildah runc mmdebstrap catatonit netavark aardvark-dns iptables)
missing=()
for pkg in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' \
        || missing+=("$pkg")
done
if [ "${#missing[@]}" -gt 0 ]; then
    export DEBIAN_FRONTEND=noninteractive
    apt-get update
    apt-get install -y --no-install-recommends "${missing[@]}"
fi

# This VM grants no CAP_SYS_RESOURCE (podman's default nofile limit cannot be set) and runs
# hybrid cgroups (crun refuses them): cap the limits at the hard limit, use runc. Debian's
# podman also ships a CNI config; say netavark (the backend with names on a network).
nofile="$(ulimit -Hn)"
conf=/etc/containers/containers.conf
want="# written by hapair .ci/container-deps.sh
[containers]
default_ulimits = [\"nofile=${nofile}:${nofile}\", \"nproc=32768:32768\"]
[engine]
runtime = \"runc\"
[network]
network_backend = \"netavark\""
if [ ! -f "$conf" ] || [ "$(cat "$conf")" != "$want" ]; then
    if [ -f "$conf" ] && ! head -n1 "$conf" | grep -q 'hapair .ci/container-deps.sh'; then
        cp "$conf" "$conf.before-hapair"
    fi
    mkdir -p /etc/containers
    printf '%s\n' "$want" > "$conf"
fi
