#!/bin/bash
# make gradescope: the Gradescope autograder zip.
# Usage: scripts/gradescope/make_bundle.sh [OUT.zip] ["NN NN ..."]
#
# The zip's top holds setup.sh and run_autograder (as Gradescope wants),
# gradescope.conf (which exercises this assignment grades: EXERCISES from
# the environment or the second argument; empty = all) and evlab/, the
# toolkit with the tests kept from students but without solutions
# (scripts/bundle_files.sh decides).
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-$root/build/gradescope/evlab-autograder.zip}
exercises=${2:-${EXERCISES:-}}
stage=$(mktemp -d)
trap 'rm -rf "$stage"' EXIT
mkdir -p "$stage/evlab" "$(dirname "$out")"
out=$(cd "$(dirname "$out")" && pwd)/$(basename "$out")

"$root/scripts/bundle_files.sh" "$root" kept | while read -r path; do
    mkdir -p "$stage/evlab/$(dirname "$path")"
    cp -p "$root/$path" "$stage/evlab/$path"
done
cp "$root/scripts/gradescope/setup.sh" "$root/scripts/gradescope/run_autograder" "$stage/"
chmod +x "$stage/setup.sh" "$stage/run_autograder"
printf '# Which exercises this Gradescope assignment grades (empty: all).\nEXERCISES="%s"\n' \
    "$exercises" >"$stage/gradescope.conf"
rm -f "$out"
(cd "$stage" && zip -qr "$out" .)
echo "gradescope: wrote $out ($(du -h "$out" | cut -f1)); exercises: ${exercises:-all}" >&2
