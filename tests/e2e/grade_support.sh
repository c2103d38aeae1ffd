# Sourced by tests/e2e/test_grade_*.sh: what the grader's end-to-end
# scripts share.  Sets root (the toolkit), fails (a counter) and check().
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
fails=0
check() {   # description, then a command that must succeed
    local what=$1; shift
    if "$@"; then echo "ok   $what"; else echo "FAIL $what"; fails=$((fails + 1)); fi
}
# Exercises always link build/release/libevlab.a.  A sanitizer run of the
# suite (make check-asan) builds only its own variant: build the release
# library too, without the parent make's variables.
if [ ! -f "$root/build/release/libevlab.a" ]; then
    echo "building build/release/libevlab.a for the exercises"
    env -u MAKEFLAGS -u MAKELEVEL -u MFLAGS make -s -C "$root" SAN= PROBES=1 \
        build/release/libevlab.a >/dev/null || exit 1
fi
