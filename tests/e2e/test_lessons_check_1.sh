#!/bin/bash
# test_lessons_check_1.sh — lessons 01-06 played headless: every claim of
# each lesson (its `check` lines) must hold on this machine.  The other
# half is test_lessons_check_2.sh; both stay under the runner's limit.
. "$(dirname "$0")/lesson_check_support.sh"
check_lessons 01 02 03 04 05 06
