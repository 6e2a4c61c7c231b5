#!/bin/sh
# Fetches the real PDFs `npm run bench` uses beyond the generated ones (too large to commit): R's
# manuals from Debian's r-doc-pdf package (verbatim-copying permission notice; GPL-2 in Debian).
# Needs apt (Debian/Ubuntu). Writes bench/.pdf-cache/{refman.pdf,R-intro.pdf}.
set -eu
cd "$(dirname "$0")"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
(cd "$work" && apt-get download r-doc-pdf >/dev/null && dpkg-deb -x r-doc-pdf_*.deb x)
mkdir -p .pdf-cache
cp "$work/x/usr/share/R/doc/manual/refman.pdf" "$work/x/usr/share/R/doc/manual/R-intro.pdf" .pdf-cache/
ls -l .pdf-cache
