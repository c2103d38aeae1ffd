#!/bin/bash
# test_lessons_check_2.sh — lessons 07-13 played headless: every claim of
# each lesson (its `check` lines) must hold on this machine.
. "$(dirname "$0")/lesson_check_support.sh"
check_lessons 07 08 09 10 11 12 13
