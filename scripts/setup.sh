#!/usr/bin/env bash
# Installs what the tests and the local demo need on a fresh Debian machine: database servers and shells
# from Debian's packages, then the npm dependencies. Idempotent: a second run only checks.
set -euo pipefail
cd "$(dirname "$0")/.."

need=()
command -v redis-server >/dev/null || need+=(redis-server)
command -v mariadbd >/dev/null || need+=(mariadb-server)
command -v busybox >/dev/null || need+=(busybox)
command -v dash >/dev/null || need+=(dash)
command -v zstd >/dev/null || need+=(zstd)
command -v unzip >/dev/null || need+=(unzip)
command -v unshare >/dev/null || need+=(util-linux)
[ -x /usr/bin/time ] || need+=(time)
[ -x /usr/bin/aws ] || need+=(awscli)
[ -x /usr/lib/postgresql/15/bin/pg_dump ] && [ -x /usr/lib/postgresql/15/bin/postgres ] || need+=(postgresql-15)
if [ ${#need[@]} -gt 0 ]; then
  echo "setup: installing ${need[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need[@]}" >/dev/null
fi
command -v terraform >/dev/null || { echo "error: terraform is not installed (expected terraform 1.11 on PATH)" >&2; exit 1; }
# moto (the AWS API emulator: the tests' S3, KMS, IAM/STS, and npm run verify:deploy's whole AWS) is a Python package;
# 5.2.1 is the version the tests and test/helpers/moto_server.py's fixes are written against.
python3 -c 'import moto.server, flask, flask_cors' 2>/dev/null || {
  echo "error: moto's server is not installed (python3 -m moto.server): install it with" >&2
  echo "  python3 -m pip install 'moto[server]==5.2.1'" >&2
  echo "(or in a virtualenv whose python3 is first on PATH); then run this script again" >&2
  exit 1
}
[ -d /opt/tf-plugins/registry.terraform.io/hashicorp/aws ] || { echo "error: the AWS provider mirror /opt/tf-plugins is missing" >&2; exit 1; }

stamp=node_modules/.setup-lock-hash
hash=$(sha256sum package-lock.json | cut -d' ' -f1)
if [ ! -f "$stamp" ] || [ "$(cat "$stamp")" != "$hash" ]; then
  echo "setup: npm ci"
  npm ci --no-audit --no-fund
  echo "$hash" > "$stamp"
fi
echo "setup: ready"
