#!/bin/bash
# Gradescope runs this once when the autograder image is built (as root,
# on its Ubuntu base image): install what evlab needs, build it.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
cd "$here/evlab"
if [ -z "${EVLAB_SKIP_DEPS:-}" ]; then
    scripts/deps.sh install
fi
make -j2
