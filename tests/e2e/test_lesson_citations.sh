#!/bin/bash
# test_lesson_citations.sh — every piece of the toolkit's code a lesson
# shows must still exist, so a lesson cannot quietly describe code that
# was renamed or rewritten.
#
# In lessons/NN-name/lesson.md a citation is a line
#     From `FILE`, function `NAME()`:
# followed by a ```c block.  For each: FILE must exist, NAME must be
# defined in it (a line that starts a definition: "... NAME(" at the
# start of a line, not ending in ';'), and every line of the block other
# than "..." must appear in FILE (blanks at either end ignored).  Each
# lesson must cite at least one function.  The example at the top of
# lib/probe/probe.h is checked the same way against the test that runs it.  Failures say which lesson,
# which citation, and what is missing.
set -u
REPO=$(cd "$(dirname "$0")/../.." && pwd)
cd "$REPO" || exit 1
failures=0
citations=0
say_fail() { echo "FAIL: $*"; failures=$((failures + 1)); }

for lesson in lessons/[0-9][0-9]-*/lesson.md; do
    [ -e "$lesson" ] || continue
    found=0
    # Each citation line with the line number of its code block's opening fence.
    while IFS='|' read -r line file name; do
        found=$((found + 1)); citations=$((citations + 1))
        where="$lesson:$line: \`$file\`, \`$name()\`"
        if [ ! -f "$file" ]; then say_fail "$where: no such file"; continue; fi
        if ! grep -Eq "^[A-Za-z_].*[^A-Za-z0-9_]$name\(|^$name\(" "$file" ||
           ! grep -E "^[A-Za-z_].*[^A-Za-z0-9_]$name\(|^$name\(" "$file" | grep -vq ';[[:space:]]*$'; then
            say_fail "$where: no definition of $name() in $file"
            continue
        fi
        # The excerpt: lines after the next ```c fence up to the closing ```.
        excerpt=$(awk -v start="$line" 'NR > start && /^```c/ { on = 1; next }
                                         on && /^```/ { exit } on { print }' "$lesson")
        [ -n "$excerpt" ] || { say_fail "$where: no \`\`\`c block after the citation"; continue; }
        trimmed_file=$(sed 's/^[[:space:]]*//; s/[[:space:]]*$//' "$file")
        while IFS= read -r code; do
            code=$(echo "$code" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
            [ -z "$code" ] || [ "$code" = "..." ] && continue
            if ! grep -qxF -- "$code" <<<"$trimmed_file"; then
                say_fail "$where: the excerpt line '$code' is not in $file"
            fi
        done <<<"$excerpt"
    done < <(grep -n 'From `[^`]*`, function `[A-Za-z_0-9]*()`' "$lesson" |
             sed 's/^\([0-9]*\):.*From `\([^`]*\)`, function `\([A-Za-z_0-9]*\)()`.*/\1|\2|\3/')
    [ "$found" -gt 0 ] || say_fail "$lesson cites no function of the toolkit (From \`FILE\`, function \`NAME()\`:)"
done
[ "$citations" -gt 0 ] || say_fail "no lesson citations found under lessons/"

# The example at the top of lib/probe/probe.h is the first code a student
# copies: every line of it must be in lib/probe/probe_example.c, which the
# build compiles and tests/unit/test_probe_example.c runs.
example_file=lib/probe/probe_example.c
trimmed_example=$(sed 's/^[[:space:]]*//; s/[[:space:]]*$//' "$example_file")
while IFS= read -r code; do
    code=$(echo "$code" | sed 's/^[[:space:]]*//; s/[[:space:]]*$//')
    [ -z "$code" ] || [ "$code" = "..." ] && continue
    citations=$((citations + 1))
    grep -qxF -- "$code" <<<"$trimmed_example" ||
        say_fail "lib/probe/probe.h example line '$code' is not in $example_file"
done < <(sed -n '1,40p' lib/probe/probe.h | sed -n 's/^ \*     //p')
if [ "$failures" -gt 0 ]; then
    echo "FAIL: $failures citation problem(s); fix the lesson text or the excerpt"
    exit 1
fi
echo "PASS: $citations citations in the lessons resolve to existing files, functions and lines"
