#!/bin/bash
# Every wrong solution for exercises 01-05 in tests/grade/wrong/VARIANT
# loses exactly the tests its expect file names (test_grade_selfcheck.sh;
# format in exercises/README.md).  test_grade_wrong_late.sh does 06-11.
# Under a sanitizer (make check-asan/check-tsan) the grader's own code is
# checked by test_grade_selfcheck.sh; grading every course exercise again
# would only re-test the exercises, at several minutes.
case ${EVLAB_BIN:-} in */build/asan*|*/build/tsan*) echo "skipped under a sanitizer"; exit 0 ;; esac
GRADE_SELFCHECK=wrong GRADE_WRONG_RANGE="01 05" exec "$(dirname "$0")/test_grade_selfcheck.sh"
