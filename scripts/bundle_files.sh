#!/bin/sh
# Prints the toolkit's files a bundle for students or a course platform
# carries, one path per line, relative to the toolkit's root (ROOT, the
# first argument).  Shared by scripts/handout.sh and
# scripts/gradescope/make_bundle.sh.
#
# Left out always: build output, reference solutions
# (exercises/solutions/), the grader's own fixtures and self-checks
# (tests/grade/, tests/e2e/test_grade_*.sh, grade_results_check.py), the
# bundle scripts and CI config.  With "kept" as the second argument the
# tests kept from students (exercises/kept/) are included (the platform
# bundle); without it they are left out (the student handout).
set -eu
root=$1
with_kept=${2:-}
cd "$root"
if git rev-parse --git-dir >/dev/null 2>&1; then
    # Tracked files and new ones not ignored: work in progress is included,
    # build output (ignored) is not.
    git ls-files --cached --others --exclude-standard
else
    find . -type f ! -path './build/*' ! -path '*/build/*' ! -name '*.o' ! -name '*.d' | sed 's|^\./||'
fi | while read -r path; do
    [ -f "$path" ] || continue
    case $path in
        exercises/solutions/*|tests/grade/*|tests/e2e/test_grade_*|tests/e2e/grade_results_check.py) continue ;;
        scripts/handout.sh|scripts/bundle_files.sh|scripts/gradescope/*|.ci/*|.github/*) continue ;;
        evlab|*/build/*|build/*) continue ;;
        exercises/kept/*) [ "$with_kept" = kept ] || continue ;;
    esac
    echo "$path"
done | sort
