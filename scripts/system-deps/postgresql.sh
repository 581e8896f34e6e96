#!/usr/bin/env bash
# The PostgreSQL server of the state-backend tests (tests/pg/): Debian's `postgresql`
# package, installed only when no server binaries are there. The tests run the
# server themselves (initdb + pg_ctl in a temporary folder, as an unprivileged user:
# initdb and postgres refuse to run as root), so the package's own cluster and
# service are never needed; nothing here starts or configures one.
set -euo pipefail

if compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" > /dev/null; then
    exit 0
fi
if ! command -v apt-get > /dev/null; then
    echo "postgresql.sh: no PostgreSQL server and no apt-get to install one" >&2
    exit 1
fi
sudo=""
if [ "$(id -u)" != 0 ]; then
    sudo="sudo"
fi
echo "postgresql.sh: installing Debian's postgresql (the state-backend tests need a server)"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
# The package may start its own cluster; the tests never use it.
$sudo apt-get install -y -qq --no-install-recommends postgresql > /dev/null
if ! compgen -G "/usr/lib/postgresql/*/bin/pg_ctl" > /dev/null; then
    echo "postgresql.sh: postgresql installed, but no /usr/lib/postgresql/*/bin/pg_ctl" >&2
    exit 1
fi
