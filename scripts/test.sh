#!/usr/bin/env bash
# The whole suite: lint, types, then every test on SQLite and on PostgreSQL, then the API
# fuzz on both. The two engines' passes run side by side (the machines have two cores and
# each pass is one process); each writes its own log, printed when both are done.
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

LOGS=$(mktemp -d)
trap 'rm -rf "$LOGS"' EXIT
PG=postgresql+psycopg://postgres@127.0.0.1:5432

# Run "name command…" in the background, its output in $LOGS/name.log.
started=()
start() {
  local name=$1
  shift
  "$@" >"$LOGS/$name.log" 2>&1 &
  started+=("$name:$!")
}

# Wait for every started job; print each log under its name; fail if any failed.
finish() {
  local failed=0 entry name pid
  for entry in "${started[@]}"; do
    name=${entry%%:*}
    pid=${entry##*:}
    if wait "$pid"; then status=passed; else status=FAILED; failed=1; fi
    echo "== $name ($status)"
    cat "$LOGS/$name.log"
  done
  started=()
  return "$failed"
}

psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS caregrid_test" \
  -c "CREATE DATABASE caregrid_test"
start "tests on SQLite" "$UV" run pytest -q -p no:cacheprovider
start "tests on PostgreSQL" env CAREGRID_TEST_DATABASE_URL="$PG/caregrid_test" \
  "$UV" run pytest -q -p no:cacheprovider
finish

# API fuzz: schemathesis over the OpenAPI document; any 5xx fails.
psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS caregrid_fuzz" \
  -c "CREATE DATABASE caregrid_fuzz"
start "API fuzz on SQLite" "$UV" run python bench/fuzz.py --examples 10 --max-seconds 180
start "API fuzz on PostgreSQL" "$UV" run python bench/fuzz.py --examples 10 --max-seconds 180 \
  --database-url "$PG/caregrid_fuzz"
finish
