#!/usr/bin/env bash
# The whole suite: lint, types, then every test on SQLite and again on PostgreSQL.
set -euo pipefail
cd "$(dirname "$0")/.."
UV=${UV:-uv}

scripts/install-chromium.sh
scripts/install-java.sh

if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql)" main start
  for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 1; done
fi

echo "== ruff"; "$UV" run ruff check src tests && "$UV" run ruff format --check src tests
echo "== mypy (src and tests)"; "$UV" run mypy

echo "== tests on SQLite"
"$UV" run pytest -q

echo "== tests on PostgreSQL"
PGDB=caregrid_test
psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS $PGDB" -c "CREATE DATABASE $PGDB"
CAREGRID_TEST_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/$PGDB" "$UV" run pytest -q

echo "== API fuzz (schemathesis over the OpenAPI document; any 5xx fails)"
"$UV" run python bench/fuzz.py --examples 10 --max-seconds 180
psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS caregrid_fuzz" -c "CREATE DATABASE caregrid_fuzz"
"$UV" run python bench/fuzz.py --examples 10 --max-seconds 180 \
  --database-url "postgresql+psycopg://postgres@127.0.0.1:5432/caregrid_fuzz"
