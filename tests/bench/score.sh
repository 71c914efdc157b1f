#!/bin/sh
# score.sh - scoring speed: a generated CRM of N contacts (BENCH_SCORE_ROWS,
# default 1000000) with deals and interactions; train the contact model;
# time crm-score --all end to end (features from the database, predict,
# write scores; target < 30 s at 1M), one rescore after an interaction
# (target < 5 ms), and the prediction step against XGBoost's own.
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
: "${CRM_BUILD:=$top/build}"
PATH=$CRM_BUILD:$PATH
N=${BENCH_SCORE_ROWS:-1000000}
dir=$(mktemp -d "${TMPDIR:-/tmp}/crm-bench.XXXXXX")
trap 'rm -rf "$dir"' EXIT

"$top"/scripts/gen-sample -n "$N" "$dir/sample"
export CRM_DB="$dir/crm.db"
crm-import -q --output none "$dir"/sample/*
crm-score -t contact train -q >"$dir/model.json"
printf 'contact model: AUC %s on %s held-out leads\n' "$(jq -r .auc "$dir/model.json")" "$(jq -r .holdout "$dir/model.json")"
/usr/bin/time -f '%e %M' -o "$dir/time" crm-score -t contact --all -q >"$dir/scores.ndjson"
read -r secs kb <"$dir/time"
printf 'crm-score --all: %d open contacts scored in %s s (target < 30 s at 1M), peak %d MiB\n' \
	"$(wc -l <"$dir/scores.ndjson")" "$secs" $((kb / 1024))
"$CRM_BUILD"/bench-predict "$CRM_DB" contact
# One rescore after one new interaction.
id=$(head -1 "$dir/scores.ndjson" | jq -r .id)
em=$(sqlite3 "$CRM_DB" "select email from contacts where id = '$id'")
crm-score -t contact --follow --once -q >/dev/null
printf 'kind,occurred_at,contact,subject\npage_view,%s,%s,/pricing\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$em" |
	crm-import -q -t interaction >/dev/null
crm-score -t contact --follow --once 2>&1 >/dev/null | sed 's/^crm-score: /one new interaction: /'
