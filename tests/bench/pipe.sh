#!/bin/sh
# pipe.sh - the stage contract's cost: N new contacts (BENCH_PIPE_ROWS,
# default 1000000) into a CRM with a trained lead model, as
#   crm-import new.csv | crm-score -t contact >/dev/null
# against the same work done one step after the other,
#   crm-import new.csv >/dev/null; crm-score -t contact --all >/dev/null
# each on its own copy of the same database, measured in the same run
# (median of 3). The pipe must not be slower.
. "$(dirname "$0")/lib.sh"
N=${BENCH_PIPE_ROWS:-1000000}

"$top"/scripts/gen-sample -n 20000 -s 3 "$dir/base" >/dev/null
export CRM_DB="$dir/base.db"
crm-import -q --output none "$dir"/base/*
crm-score -t contact train -q >/dev/null
crm-score -t contact --all -q >/dev/null
awk -v n="$N" 'BEGIN { print "first_name,last_name,email,company,title,lead_source";
	for (i = 0; i < n; i++) printf "F%d,L%d,new%d@pipe.example,Co%d,VP Sales,Web\n", i, i % 977, i, i % 3001 }' >"$dir/new.csv"
med() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }
for i in 1 2 3; do
	cp "$dir/base.db" "$dir/p.db"; cp "$dir/base.db" "$dir/s.db"
	/usr/bin/time -f '%e' -o "$dir/t" sh -c "crm-import --db '$dir/p.db' -q --output ndjson '$dir/new.csv' | crm-score --db '$dir/p.db' -t contact -q >/dev/null"
	cat "$dir/t" >>"$dir/pipe.times"
	/usr/bin/time -f '%e' -o "$dir/t" sh -c "crm-import --db '$dir/s.db' -q --output none '$dir/new.csv' && crm-score --db '$dir/s.db' -t contact --all -q >/dev/null"
	cat "$dir/t" >>"$dir/steps.times"
done
p=$(med <"$dir/pipe.times"); s=$(med <"$dir/steps.times")
scored=$(sqlite3 "$dir/p.db" "select count(*) from scores where entity_id in (select id from contacts where email like '%@pipe.example')")
printf 'crm-import | crm-score -t contact, %d new contacts: %s s, %.0f rows/s (%s scored)\n' "$N" "$p" "$(echo "$N / $p" | bc -l)" "$scored"
printf '  crm-import then crm-score --all on a copy: %s s, %.0f rows/s; ratio pipe/steps %.2f (target <= 1)\n' \
	"$s" "$(echo "$N / $s" | bc -l)" "$(echo "$p / $s" | bc -l)"
