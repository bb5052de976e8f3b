#!/usr/bin/env bash
# Installs the two workflow linters that `npm test` runs only where they are present, for CI
# (.ci/run), where a skipped linter would be a gate that cannot fail:
#   - ShellCheck: Debian's package, when it is not on PATH already (apt-get, as root or through sudo);
#   - zizmor: from PyPI into its own virtualenv, version and wheel hashes pinned in
#     zizmor.requirements.txt, cached outside the clone.
# Prints the directory to put first on PATH (zizmor's); progress goes to stderr.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
cache="${GITOPS_CI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/gitops-platform-ci}"

die() { echo "install linters: $*" >&2; exit 1; }

if ! command -v shellcheck >/dev/null 2>&1; then
  command -v apt-get >/dev/null 2>&1 ||
    die "shellcheck is not on PATH and there is no apt-get to install it: install shellcheck (https://github.com/koalaman/shellcheck#installing) and retry"
  as_root=()
  if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null 2>&1 || die "installing shellcheck needs root (apt-get) and sudo is not available"
    as_root=(sudo)
  fi
  echo "install linters: shellcheck (apt-get)" >&2
  # The package index may be missing on a fresh machine: update it only when the install needs it.
  if ! "${as_root[@]}" apt-get install -y -q --no-install-recommends shellcheck >&2; then
    "${as_root[@]}" apt-get update -q >&2
    "${as_root[@]}" apt-get install -y -q --no-install-recommends shellcheck >&2 || die "apt-get could not install shellcheck"
  fi
fi
echo "install linters: $(shellcheck --version | sed -n 's/^version: /shellcheck /p')" >&2

command -v python3 >/dev/null 2>&1 || die "python3 not found on PATH (zizmor installs with pip): install Python 3.9 or later"
requirements="$here/zizmor.requirements.txt"
version=$(sed -n 's/^zizmor==\([0-9][0-9.]*\).*/\1/p' "$requirements")
[ -n "$version" ] || die "no 'zizmor==X.Y.Z' line in $requirements"
# Keyed by the requirements file: a new version or hash gets a new virtualenv.
venv="$cache/zizmor-$version-$(sha256sum "$requirements" | cut -c1-12)"
# A marker written last: an install cut off half-way is redone, never used.
if [ ! -f "$venv/.installed" ]; then
  echo "install linters: zizmor $version (pip, hashes pinned) into $venv" >&2
  rm -rf "$venv"
  mkdir -p "$cache"
  python3 -m venv "$venv" || die "python3 -m venv failed (Debian: apt-get install python3-venv)"
  "$venv/bin/pip" install -q --disable-pip-version-check --no-deps --only-binary=:all: --require-hashes -r "$requirements" >&2 ||
    die "pip could not install zizmor $version with the pinned hashes ($requirements)"
  touch "$venv/.installed"
fi
[ "$("$venv/bin/zizmor" --version)" = "zizmor $version" ] || die "$venv/bin/zizmor is not zizmor $version"
echo "install linters: zizmor $version" >&2
echo "$venv/bin"
