#!/bin/sh
# tenancy_pg.sh URL -- run by tests/store/pg_test.sh with the URL of a
# throwaway PostgreSQL; runs one test_tenancy.py case against it (the other
# arguments come from the environment set by tests/serve/CMakeLists.txt).
exec "$SG_PYTHON" "$SG_TENANCY_PY" "$SG_STARGATE" "$SG_MODEL" "$SG_DEPLOY" "$SG_CASE" "$1"
