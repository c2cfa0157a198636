#!/bin/sh
# Regenerates the .mo fixtures with GNU gettext's msgfmt (Debian package gettext).
set -e
cd "$(dirname "$0")"
msgfmt -o sample.mo sample.po
msgfmt -o sample-latin1.mo sample-latin1.po
