#!/usr/bin/env bash
# The Debian packages outside Python that a make target needs, installed when missing.
#
#   scripts/system-deps.sh test     what the test suite uses (`make test` runs this first)
#   scripts/system-deps.sh bench    what `make bench` uses
#   scripts/system-deps.sh all      both (the default)
#   scripts/system-deps.sh --list GROUP   print the group's packages, one a line, and exit
#   scripts/system-deps.sh --check GROUP  exit 1, naming them, when any is missing; install nothing
#
# Idempotent and quiet: with everything there it prints nothing and takes a few milliseconds
# (one dpkg-query). It installs as root, or through `sudo -n` when that needs no password; else
# it says what to run and fails. `make run` needs none of these.
# tests/test_system_deps.py fails when a test uses a system file or program that the `test`
# group does not bring, so keep each group complete.
set -euo pipefail

# One package per line, with why.
TEST_PACKAGES=(
  chromium           # /usr/bin/chromium, driven by Playwright in tests/e2e (Playwright's own download is never used)
  fonts-dejavu-core  # a text font for chromium's pages and screenshots, and the demo documents' font
  gettext            # msgfmt, xgettext, msgmerge: tests/test_translations.py and `make messages`
)
BENCH_PACKAGES=(
  wrk                # HTTP load tool for the live-status requests per second (bench/load.py stands in without it)
)

mode=install
case "${1:-}" in
  --list) mode=list; shift ;;
  --check) mode=check; shift ;;
esac
group=${1:-all}
case "$group" in
  test) packages=("${TEST_PACKAGES[@]}") ;;
  bench) packages=("${BENCH_PACKAGES[@]}") ;;
  all) packages=("${TEST_PACKAGES[@]}" "${BENCH_PACKAGES[@]}") ;;
  *) echo "usage: $0 [--list|--check] [test|bench|all]" >&2; exit 2 ;;
esac

if [[ $mode == list ]]; then
  printf '%s\n' "${packages[@]}"
  exit 0
fi

if ! command -v dpkg-query >/dev/null 2>&1; then
  echo "scripts/system-deps.sh: this is not a Debian system; install by hand what these Debian" \
    "packages provide: ${packages[*]}" >&2
  exit 1
fi

# One dpkg-query for all of them: the packages it does not report as installed are missing.
installed=$(dpkg-query -W -f='${Package} ${db:Status-Status}\n' "${packages[@]}" 2>/dev/null || true)
missing=()
for pkg in "${packages[@]}"; do
  grep -qx "$pkg installed" <<<"$installed" || missing+=("$pkg")
done
((${#missing[@]})) || exit 0

if [[ $mode == check ]]; then
  echo "missing Debian packages: ${missing[*]}" >&2
  exit 1
fi

if [[ $(id -u) == 0 ]]; then
  as_root=()
elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
  as_root=(sudo -n)
else
  echo "The $group tools need these Debian packages, which are not installed: ${missing[*]}." >&2
  echo "Install them once as root, then run the same make command again:" >&2
  echo "    sudo bash scripts/system-deps.sh $group" >&2
  exit 1
fi

echo "Installing the Debian packages the $group tools need: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
# Install from the package lists already on the machine; refresh them only when that fails
# (a new machine's lists may be missing or stale).
if ! "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null 2>&1; then
  "${as_root[@]}" apt-get update -qq
  "${as_root[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
echo "Installed: ${missing[*]}"
