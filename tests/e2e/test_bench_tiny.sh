#!/bin/bash
# test_bench_tiny.sh — `evlab bench` on a tiny sweep (two models, two
# connection levels, one second each, one workload) writes a CSV with one
# row per run, JSON that parses, and an SVG that parses as XML and has
# one series per model in each chart.
set -u
EVLAB=${EVLAB_BIN:-./evlab}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*"; exit 1; }

"$EVLAB" bench --models loop,threads --connections 1,4 --workloads root \
    --duration 1s --warmup 0 --out "$tmp/out" >"$tmp/stdout" 2>"$tmp/stderr" \
    || fail "bench exited $?: $(cat "$tmp/stderr")"
for f in results.csv results.json results.md root.svg servers.log; do
    [ -f "$tmp/out/$f" ] || fail "missing $f"
done
grep -q $'\r' "$tmp/stderr" && fail "progress on a pipe contains carriage returns"

python3 - "$tmp/out" <<'PY' || fail "output check failed"
import csv, json, sys, xml.etree.ElementTree as ET
out = sys.argv[1]
rows = list(csv.DictReader(open(out + "/results.csv")))
assert len(rows) == 4, rows
assert sorted((r["model"], int(r["connections"])) for r in rows) == \
    [("loop", 1), ("loop", 4), ("threads", 1), ("threads", 4)]
for r in rows:
    assert float(r["req_per_sec"]) > 0, r
    assert int(r["peak_rss_kb"]) > 0 and int(r["threads"]) >= 1, r
    assert r["server_exit"] == "0" and r["server_died"] == "0", r
# The thread model holds a thread per connection.
t4 = [r for r in rows if r["model"] == "threads" and r["connections"] == "4"][0]
assert int(t4["threads"]) >= 5, t4

doc = json.load(open(out + "/results.json"))
assert len(doc["runs"]) == 4 and doc["config"]["workloads"][0]["name"] == "root"

svg = ET.parse(out + "/root.svg").getroot()
ns = "{http://www.w3.org/2000/svg}"
assert svg.tag == ns + "svg"
charts = [g for g in svg.iter(ns + "g") if g.get("class") == "chart"]
assert len(charts) == 2, len(charts)
for chart in charts:
    series = [g.get("data-series") for g in chart.iter(ns + "g") if g.get("class") == "series"]
    assert sorted(series) == ["loop", "threads"], series
    texts = " ".join(t.text or "" for t in chart.iter(ns + "text"))
    assert "connections" in texts
PY
echo "test_bench_tiny: ok"
