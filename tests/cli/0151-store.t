#!/bin/sh
# The storage interface's unit tests (tests/unit/t-store.c) on SQLite and
# on a PostgreSQL server on loopback: the same calls, the same answers.
. "$(dirname "$0")/lib.sh"
pg_start
U=$(pg_newdb store)
"$CRM_BUILD"/tests/t-store "$U"
