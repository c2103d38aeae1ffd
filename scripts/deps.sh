#!/bin/sh
# Checks (check) or installs (install) what evlab needs to build and test.
# `make`, `make test` and `make demo` run the check; when something is
# missing and we are root (or have password-less sudo) we install it,
# otherwise we stop and print the exact command to run.
set -eu

# Debian package : how we detect it is there
NEEDED="
pkg-config:command:pkg-config
gcc:command:cc
make:command:make
libncurses-dev:pkgconfig:ncursesw
libcmocka-dev:pkgconfig:cmocka
tmux:command:tmux
curl:command:curl
wrk:command:wrk
python3:command:python3
"

missing() {
    for entry in $NEEDED; do
        pkg=${entry%%:*}; rest=${entry#*:}
        kind=${rest%%:*}; what=${rest#*:}
        case $kind in
            command) command -v "$what" >/dev/null 2>&1 || echo "$pkg" ;;
            pkgconfig) command -v pkg-config >/dev/null 2>&1 &&
                       pkg-config --exists "$what" 2>/dev/null || echo "$pkg" ;;
        esac
    done
}

install() {
    pkgs=$1
    if [ "$(id -u)" = 0 ]; then SUDO=""
    elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then SUDO="sudo -n"
    else
        echo "evlab: missing packages: $pkgs" >&2
        echo "evlab: run:  sudo apt-get install -y $pkgs" >&2
        exit 1
    fi
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "evlab: missing packages: $pkgs (no apt-get here; install them with your package manager)" >&2
        exit 1
    fi
    echo "evlab: installing $pkgs" >&2
    $SUDO apt-get update -qq >&2
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $pkgs >&2
}

todo=$(missing | tr '\n' ' ' | sed 's/ *$//')
case ${1:-check} in
    check|install)
        if [ -n "$todo" ]; then install "$todo"; fi
        todo=$(missing | tr '\n' ' ' | sed 's/ *$//')
        if [ -n "$todo" ]; then
            echo "evlab: still missing after install: $todo" >&2; exit 1
        fi ;;
    *) echo "usage: $0 check|install" >&2; exit 2 ;;
esac
