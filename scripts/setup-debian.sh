#!/usr/bin/env bash
# Installs the Debian packages AttnScope needs beyond the .NET SDK: fontconfig (SkiaSharp finds fonts through
# it), DejaVu for Latin text and Noto CJK for Chinese/Japanese/Korean token labels, and Debian's python3 with
# numpy, which a test uses to read a capture the way a Python user would, and Chromium, which the viewer's browser
# tests drive through Playwright. Installs only what is missing.
set -euo pipefail
need=()
for p in libfontconfig1 fonts-dejavu-core fonts-noto-cjk python3 python3-numpy chromium; do
  dpkg -s "$p" >/dev/null 2>&1 || need+=("$p")
done
if [ ${#need[@]} -gt 0 ]; then
  sudo_cmd=""
  [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
  $sudo_cmd apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
