#!/usr/bin/env python3
"""Checks a results.json that `evlab grade --format gradescope` wrote.

Used by tests/e2e/test_grade_selfcheck.sh:
  grade_results_check.py full RESULTS           every test passed, full marks
  grade_results_check.py starter RESULTS        each exercise scores less than
                                                full, and 0 on its core tests
  grade_results_check.py expect RESULTS EXPECT  the tests lost are exactly
                                                those EXPECT names (format in
                                                exercises/README.md)
Prints one line per problem and exits 1 if there is any.
"""
import json
import re
import sys

NAME = re.compile(r"^(\d\d) (\S+): ")


def load(path):
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    for key in ("score", "execution_time", "output", "tests"):
        if key not in data:
            sys.exit(f"{path}: no top-level '{key}'")
    tests = []
    for t in data["tests"]:
        for key in ("name", "score", "max_score", "status", "output", "visibility"):
            if key not in t:
                sys.exit(f"{path}: a test has no '{key}': {t.get('name')}")
        m = NAME.match(t["name"])
        if not m:
            sys.exit(f"{path}: test name not 'NN name: description': {t['name']}")
        t["nn"], t["test"] = m.group(1), m.group(2)
        tests.append(t)
    if data["score"] != sum(t["score"] for t in tests):
        sys.exit(f"{path}: top-level score {data['score']} is not the sum of the tests'")
    return tests


def by_exercise(tests):
    groups = {}
    for t in tests:
        groups.setdefault(t["nn"], []).append(t)
    return groups


def first_line(text):
    lines = [l for l in text.splitlines() if l.strip()]
    return lines[-1][:160] if lines else "(no output)"


def check_full(tests):
    problems = []
    for t in tests:
        if t["status"] != "passed" or t["score"] != t["max_score"]:
            problems.append(f"{t['nn']} {t['test']}: {t['score']}/{t['max_score']}: {first_line(t['output'])}")
    return problems


def check_starter(tests):
    problems = []
    for nn, group in sorted(by_exercise(tests).items()):
        score = sum(t["score"] for t in group)
        full = sum(t["max_score"] for t in group)
        if score >= full:
            problems.append(f"{nn}: the starter scores full marks ({score}/{full})")
        for t in group:
            if "core" in t.get("tags", []) and t["score"] != 0:
                problems.append(f"{nn} {t['test']}: a core test, but the starter scores {t['score']} on it")
        if not any("core" in t.get("tags", []) for t in group):
            problems.append(f"{nn}: no test is flagged core")
    return problems


def read_expect(path):
    """Lines 'NN test [text]' (must fail, output contains text) or
    'pass NN test [text]' (must pass, output contains text)."""
    lose, keep = {}, {}
    with open(path, encoding="utf-8") as f:
        for number, line in enumerate(f, 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            words = line.split(None, 3 if line.startswith("pass ") else 2)
            target = lose
            if words[0] == "pass":
                target = keep
                words = words[1:]
            if len(words) < 2 or not re.fullmatch(r"\d\d", words[0]):
                sys.exit(f"{path}:{number}: expected 'NN test_name [text]', got: {line}")
            target[(words[0], words[1])] = words[2] if len(words) > 2 else ""
    return lose, keep


def check_expect(tests, expect_path):
    lose, keep = read_expect(expect_path)
    problems = []
    seen = {(t["nn"], t["test"]): t for t in tests}
    for key in list(lose) + list(keep):
        if key not in seen:
            problems.append(f"{key[0]} {key[1]}: named in expect, but no such test was graded")
    for key, t in sorted(seen.items()):
        failed = t["status"] != "passed"
        if key in lose:
            if not failed:
                problems.append(f"{key[0]} {key[1]}: should fail, but passed")
            elif lose[key] and lose[key] not in t["output"]:
                problems.append(f"{key[0]} {key[1]}: failed, but its output does not say '{lose[key]}': "
                                f"{first_line(t['output'])}")
        elif failed:
            problems.append(f"{key[0]} {key[1]}: should pass, but failed: {first_line(t['output'])}")
        elif key in keep and keep[key] and keep[key] not in t["output"]:
            problems.append(f"{key[0]} {key[1]}: passed, but its output does not say '{keep[key]}'")
    return problems


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    mode, tests = sys.argv[1], load(sys.argv[2])
    if not tests:
        print("no tests graded")
        return 1
    if mode == "full":
        problems = check_full(tests)
    elif mode == "starter":
        problems = check_starter(tests)
    elif mode == "expect":
        problems = check_expect(tests, sys.argv[3])
    else:
        sys.exit(f"unknown mode {mode}")
    for p in problems:
        print(p)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
