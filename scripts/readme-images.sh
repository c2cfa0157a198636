#!/usr/bin/env bash
# Regenerates the README's example views (docs/images/view-*.png, view-animation.gif) with AttnScope's own
# commands: one capture of a sentence pair from the built-in model, then one `attnscope render` per view.
set -euo pipefail
cd "$(dirname "$0")/.."
dotnet build src/AttnScope.Cli -c Release -v quiet -nologo >/dev/null
attnscope() { dotnet src/AttnScope.Cli/bin/Release/net10.0/attnscope.dll "$@"; }
out=docs/images
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p "$out"

attnscope capture --text "The cat sat on the mat." --text-pair "It was warm, so the cat stayed there." -o "$tmp/pair.safetensors"
attnscope render "$tmp/pair.safetensors" --view head --layer 2 --head 9 -o "$out/view-head.png"
attnscope render "$tmp/pair.safetensors" --view heads --layer 2 -o "$out/view-heads.png"
attnscope render "$tmp/pair.safetensors" --view layers --head mean -o "$out/view-layers.png"
attnscope render "$tmp/pair.safetensors" --view model -o "$out/view-model.png"
attnscope render "$tmp/pair.safetensors" --view head --head mean --delay 800 -o "$out/view-animation.gif"
attnscope analyze "$tmp/pair.safetensors" --rollout --heads
attnscope render "$tmp/pair.safetensors" --view roles -o "$out/analysis-roles.png"
attnscope analyze "$tmp/pair.safetensors" --flow
attnscope render "$tmp/pair.safetensors" --view flow -o "$out/analysis-flow.png"
attnscope capture --text "I deposited the money at the bank." -o "$tmp/bank.safetensors"
attnscope analyze "$tmp/bank.safetensors" --relevance --compare "The financial institution keeps my savings."
attnscope render "$tmp/bank.safetensors" --view saliency -o "$out/analysis-saliency.png"
