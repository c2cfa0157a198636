#!/usr/bin/env bash
# The end-to-end render benchmark of docs/benchmarks.md, on the executable a user runs: the tool package is packed
# (for this platform, ReadyToRun), installed from a folder feed into a temporary tool path, and
# `attnscope render CAPTURE --view model -o OUT.png` of that installed tool is timed from process start to exit,
# alternating with matplotlib drawing the same 6 × 12 grid from the same capture (Debian's python3-matplotlib).
# Usage: bash scripts/bench/render-end-to-end.sh [RUNS] [WORKDIR]
set -euo pipefail
cd "$(dirname "$0")/../.."
runs="${1:-9}"
work="${2:-/tmp/attnscope-render-bench}"
rm -rf "$work"
mkdir -p "$work/feed"
dotnet build AttnScope.slnx -c Release -v q -nologo >/dev/null
dotnet pack src/AttnScope.Cli -c Release -v q -nologo -o "$work/feed" >/dev/null
cat > "$work/nuget.config" <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration><packageSources><clear /><add key="feed" value="$work/feed" /></packageSources></configuration>
XML
dotnet tool install AttnScope --tool-path "$work/tools" --configfile "$work/nuget.config" >/dev/null
echo "installed: $(ls "$work/feed")"
dotnet run --project bench/AttnScope.Bench -c Release --no-build -- views --end-to-end --runs "$runs" --cli "$work/tools/attnscope"
