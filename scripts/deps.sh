#!/bin/sh
# Checks (check) or installs (install) what evlab needs to build and test.
# `make`, `make test` and `make demo` run the check; when something is
# missing and we are root (or have password-less sudo) we install it,
# otherwise we stop and print the exact command to run.
#
#   scripts/deps.sh check|install [fuzz] [bench-core]
#
# The optional groups are what only one make target needs, so a plain
# `make` never installs them: `fuzz` (clang and its libFuzzer runtime, for
# make fuzz) and `bench-core` (strace, for make bench-core's syscall count).
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
FUZZ_NEEDED="
clang:command:clang
libclang-rt-dev:file:/usr/lib/llvm-*/lib/clang/*/lib/linux/libclang_rt.fuzzer-x86_64.a
"
BENCH_CORE_NEEDED="
strace:command:strace
"

missing() {
    for entry in $NEEDED; do
        pkg=${entry%%:*}; rest=${entry#*:}
        kind=${rest%%:*}; what=${rest#*:}
        case $kind in
            command) command -v "$what" >/dev/null 2>&1 || echo "$pkg" ;;
            pkgconfig) command -v pkg-config >/dev/null 2>&1 &&
                       pkg-config --exists "$what" 2>/dev/null || echo "$pkg" ;;
            # A glob that must match at least one file.
            file) set -- $what; [ -e "$1" ] || echo "$pkg" ;;
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

mode=${1:-check}
[ $# -gt 0 ] && shift
for group in "$@"; do
    case $group in
        fuzz) NEEDED="$NEEDED $FUZZ_NEEDED" ;;
        bench-core) NEEDED="$NEEDED $BENCH_CORE_NEEDED" ;;
        *) echo "usage: $0 check|install [fuzz] [bench-core]" >&2; exit 2 ;;
    esac
done
todo=$(missing | tr '\n' ' ' | sed 's/ *$//')
case $mode in
    check|install)
        if [ -n "$todo" ]; then install "$todo"; fi
        todo=$(missing | tr '\n' ' ' | sed 's/ *$//')
        if [ -n "$todo" ]; then
            echo "evlab: still missing after install: $todo" >&2; exit 1
        fi ;;
    *) echo "usage: $0 check|install [fuzz] [bench-core]" >&2; exit 2 ;;
esac
