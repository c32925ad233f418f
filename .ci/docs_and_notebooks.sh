#!/usr/bin/env bash
# Docs and notebooks: every notebook top to bottom in a fresh kernel in smoke mode (each asserts
# its key result, so a degraded notebook fails here), then the documentation site in strict mode.
# Needs the package installed with the `docs` and `dev` extras (mkdocs-material,
# mkdocstrings[python], mkdocs-jupyter, nbmake, ipykernel).
set -euo pipefail
cd "$(dirname "$0")/.."

export MPLBACKEND=Agg
export BAYES_MECH_SMOKE=1
export OMP_NUM_THREADS="${OMP_NUM_THREADS:-2}" MKL_NUM_THREADS="${MKL_NUM_THREADS:-2}"
export PYDEVD_DISABLE_FILE_VALIDATION=1

# -o addopts= : the project's addopts/filterwarnings are for the unit tests; the notebooks run in
# their own kernels. --durations=0 prints each notebook's smoke-mode run time.
python -m pytest --nbmake notebooks -p no:cacheprovider -o addopts= -o testpaths=notebooks \
    --nbmake-timeout=300 --durations=0 -q

site_dir="$(mktemp -d)"
trap 'rm -rf "$site_dir"' EXIT
NO_MKDOCS_2_WARNING=1 python -m mkdocs build --strict --site-dir "$site_dir"
echo "Docs and notebooks passed."
