#!/usr/bin/env bash
# What each mapping benchmark costs in instructions per run, counted by callgrind: a measure
# that does not move with the machine's load, for before/after comparisons on shared, noisy
# machines where `cargo bench` timings of the same build differ by a third between runs.
# Instructions are not time (a cache miss or an allocation costs more than its instruction
# count says), so timed ratios from `cargo bench` stay the figures the targets are judged by;
# this answers "did this change add work", exactly.
#
# Usage: bench/instructions.sh [REGEX]   (default: the 100-record pages). Each benchmark whose
# id matches runs for PROFILE_SECS (default 2) under callgrind, about 50 times slower than
# natively; the figure is the inclusive cost of benches/mapping.rs's out-of-line `run` over
# its calls, so criterion's own work is left out. Installs valgrind (Debian) when missing.
set -euo pipefail
cd "$(dirname "$0")/.."

FILTER="${1:-^page_100/}"
PROFILE_SECS="${PROFILE_SECS:-2}"

if ! command -v valgrind >/dev/null 2>&1; then
    apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq valgrind
fi
BENCH="$(cargo bench --bench mapping --no-run --message-format=json 2>/dev/null \
    | python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "mapping" and m.get("executable"):
        print(m["executable"])')"

WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT

echo "| benchmark | instructions per run |"
echo "|---|---|"
"$BENCH" --bench --list 2>/dev/null | sed -n 's/: benchmark$//p' | grep -E "$FILTER" | while read -r id; do
    # criterion takes a regex; the id's own characters are escaped so that it matches only itself.
    pattern="^$(printf '%s' "$id" | sed 's/[][\.*^$()+?{}|]/\\&/g')\$"
    valgrind --tool=callgrind --callgrind-out-file="$WORK/out" \
        "$BENCH" --bench --profile-time "$PROFILE_SECS" "$pattern" >/dev/null 2>&1
    callgrind_annotate --tree=caller --inclusive=yes "$WORK/out" | python3 -c '
import re, sys
lines = sys.stdin.read().splitlines()
own = re.compile(r"\s*([\d,]+) \([ \d.]+%\)  \*  \S*?mapping::run(<.*>)? \[")
total = calls = 0
for i, line in enumerate(lines):
    m = own.match(line)
    if not m:
        continue
    total += int(m.group(1).replace(",", ""))
    j = i - 1
    while j >= 0 and "  < " in lines[j]:
        calls += int(re.search(r"\(([\d,]+)x\)", lines[j]).group(1).replace(",", ""))
        j -= 1
if not calls:
    sys.exit("no run of the routine was recorded")
print(f"| '"$id"' | {total / calls / 1e6:.3f} M |")
'
done
