#!/usr/bin/env bash
# The corpus benchmark of docs/benchmarks.md: 10,000 sentences through the embedded MiniLM into a DuckDB database,
# timed from process start to the database written. Usage: bash scripts/bench/corpus-10k.sh [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
work="${1:-/tmp/attnscope-corpus-bench}"
mkdir -p "$work"
python3 scripts/bench/make_corpus_10k.py "$work/corpus10k.txt"
dotnet build src/AttnScope.Cli -c Release -v q -nologo >/dev/null
rm -f "$work/bench.duckdb" "$work/bench.duckdb.wal"
echo "load before: $(uptime)"
start=$(date +%s.%N)
if [ -x /usr/bin/time ]; then timer=(/usr/bin/time -v); else timer=(); fi
"${timer[@]}" dotnet src/AttnScope.Cli/bin/Release/net10.0/attnscope.dll corpus \
  --input "$work/corpus10k.txt" --out "$work/bench.duckdb" --qk-heads 2.3 --batch 32 2> "$work/time.txt" || {
  cat "$work/time.txt"; exit 1; }
end=$(date +%s.%N)
echo "load after:  $(uptime)"
grep -E "Elapsed|User time|System time|Maximum resident" "$work/time.txt" || true
awk -v s="$start" -v e="$end" 'BEGIN { printf "wall %.1f s, %.1f sentences/s\n", e - s, 10000 / (e - s) }'
ls -l "$work/bench.duckdb"
