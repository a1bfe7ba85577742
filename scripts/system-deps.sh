#!/usr/bin/env bash
# Debian packages the test suite needs (fonts for generated specimens, the browser for end-to-end
# tests), and `make bench`'s load tool. Idempotent; run as root (CI is root). `make run` needs none.
set -euo pipefail
PACKAGES=(
  # one package per line, with why
  fonts-ocr-b   # OCR-B, the ICAO 9303 MRZ typeface: tests draw specimen passports and ID cards with it
  chromium      # /usr/bin/chromium, driven by Playwright in tests/e2e (Playwright's own download is not used)
  fonts-dejavu-core  # a text font for chromium's screenshots of the pages
  gettext       # xgettext, msgmerge, msgfmt: `make messages` and tests/test_translations.py
  wrk           # HTTP load tool for `make bench` (live-status requests per second); bench/load.py stands in without it
)
missing=()
for pkg in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q "install ok installed" || missing+=("$pkg")
done
if ((${#missing[@]})); then
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
