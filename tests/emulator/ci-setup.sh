#!/usr/bin/env bash
# Prepare the emulator's virtualenv (tests/emulator/.venv) from the pinned requirements.txt.
# Idempotent and safe to run concurrently (a lock serialises it); a no-op when the venv is current.
# CI runs it once before `cargo test --workspace`; `serve` runs it itself when the venv is missing.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="$here/.venv"
stamp="$venv/.hdh-requirements.sha256"
python="${HDH_EMULATOR_PYTHON:-python3}"

want="$(sha256sum "$here/requirements.txt" | cut -d' ' -f1)"
exec 9>"$here/.venv.lock"
flock 9
if [[ -x "$venv/bin/python" && -f "$stamp" && "$(cat "$stamp")" == "$want" ]]; then
  exit 0
fi
if ! "$python" -c 'import sys; sys.exit(0 if sys.version_info >= (3, 9) else 1)' 2>/dev/null; then
  echo "ci-setup: need Python >= 3.9 as '$python' (set HDH_EMULATOR_PYTHON)" >&2
  exit 1
fi
echo "ci-setup: creating $venv with $("$python" --version 2>&1)" >&2
rm -rf "$venv"
"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q -r "$here/requirements.txt" >&2
echo "$want" > "$stamp"
echo "ci-setup: emulator virtualenv ready" >&2
