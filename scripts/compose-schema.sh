#!/usr/bin/env bash
# Puts the Compose Specification's JSON schema at $1 for tests/test_deploy.py. The schema is
# not vendored: it is taken from the docker-compose 1.29.2 wheel on PyPI
# (compose/config/compose_spec.json, the compose-spec project's schema as that release
# shipped it), downloaded without its dependencies (pip only; nothing is installed).
set -euo pipefail
target="$1"
python="${2:-python3}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
"$python" -m pip download --quiet --disable-pip-version-check --no-deps \
  --only-binary=:all: -d "$work" docker-compose==1.29.2
mkdir -p "$(dirname "$target")"
"$python" - "$work" "$target" <<'PY'
import glob
import sys
import zipfile

work, target = sys.argv[1], sys.argv[2]
(wheel,) = glob.glob(f"{work}/docker_compose-*.whl")
with zipfile.ZipFile(wheel) as archive, open(target, "wb") as out:
    out.write(archive.read("compose/config/compose_spec.json"))
PY
echo "compose schema: $target"
