#!/bin/sh
# score.sh - scoring speed: a generated CRM of N contacts (BENCH_SCORE_ROWS,
# default 1000000) with deals and interactions; train the contact model;
# time crm-score --all end to end (features from the database, predict,
# write scores; target < 30 s at 1M), one rescore after an interaction
# (target < 5 ms), and the prediction step against XGBoost's own.
. "$(dirname "$0")/lib.sh"
N=${BENCH_SCORE_ROWS:-1000000}

"$top"/scripts/gen-sample -n "$N" "$dir/sample"
export CRM_DB="$dir/crm.db"
crm-import -q --output none "$dir"/sample/*
t0=$(date +%s)
crm-score -t contact train -q >"$dir/model.json"
t1=$(date +%s)
printf 'contact model: cross-validated AUC %s (%s-fold, %s closed leads), %s s\n' "$(jq -r .auc "$dir/model.json")" \
	"$(jq -r .folds "$dir/model.json")" "$(jq -r .train "$dir/model.json")" "$((t1 - t0))"
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

# Bias audit of the same CRM (target < 30 s at 1M scored contacts with
# 1000 bootstrap resamples). Every contact is scored (closed ones as of
# their outcome, which gives outcomes for TPR, FPR and calibration) and
# piped in; the reference is sqlite3 computing the plain per-group
# selection rates of the same rows, without intervals or verdicts.
crm-export -t contact | crm-score -t contact -q >"$dir/all.ndjson"
thr=$(jq -r .probability "$dir/all.ndjson" | sort -rn | awk -v n="$(wc -l <"$dir/all.ndjson")" 'NR == int(n / 5) { print; exit }')
med() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for i in 1 2 3; do
	/usr/bin/time -f '%e %M' -o "$dir/time" crm-audit bias --by gender --by account.employees \
		--bootstrap 1000 --no-store -q <"$dir/all.ndjson" >"$dir/audit.ndjson" || true
	tail -1 "$dir/time" >>"$dir/audit.times"
	/usr/bin/time -f '%e' -o "$dir/time" sqlite3 "$CRM_DB" \
		"SELECT json_extract(c.attrs, '\$.Gender'), count(*), avg(s.probability >= $thr) FROM scores s JOIN contacts c ON c.id = s.entity_id GROUP BY 1" >/dev/null
	cat "$dir/time" >>"$dir/sql.times"
done
a=$(cut -d' ' -f1 "$dir/audit.times" | med); kb=$(cut -d' ' -f2 "$dir/audit.times" | med); s=$(med <"$dir/sql.times")
printf 'crm-audit bias, %d scored contacts, 2 attributes and their intersection, 1000 resamples: %s s (target < 30 s), peak %d MiB\n' \
	"$(jq -r 'select(.type == "audit") | .scored' "$dir/audit.ndjson")" "$a" $((kb / 1024))
printf '  sqlite3 per-group selection rates of the same rows (no intervals): %s s; ratio %.2f\n' "$s" "$(echo "$a / $s" | bc -l)"
/usr/bin/time -f '%e' -o "$dir/time" crm-audit bias --by gender --no-store -q >/dev/null || true
printf 'crm-audit bias from the scores table (open contacts + holdout): %s s\n' "$(tail -1 "$dir/time")"
