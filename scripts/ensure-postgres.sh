#!/usr/bin/env bash
# Make sure a PostgreSQL server answers on 127.0.0.1:5432 (the tests' real store); start the local cluster if stopped.
set -u
if pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then exit 0; fi
if [ -d /etc/postgresql ] && command -v pg_ctlcluster >/dev/null; then
    version=$(ls /etc/postgresql | head -n 1)
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || true
    for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && exit 0; sleep 1; done
fi
echo "ensure-postgres: no PostgreSQL on 127.0.0.1:5432; Postgres tests will be skipped" >&2
exit 0
