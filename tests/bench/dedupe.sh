#!/bin/sh
# dedupe.sh - crm-dedupe quality and speed.
#
#   Quality, with no labels given, on every set separately: Febrl 1 and 2,
#   Splink's fake_1000 (people with emails and cities), the Fodors-Zagats
#   restaurants (real businesses, as accounts) from ../shared/data when
#   present, and generated CRM copies (gen-people --crm: namesakes, job
#   and channel changes, badge scans) and generated business sites from
#   nine lists (gen-people --sites: chains of up to 30 sites sharing a
#   name and website). For each: precision, recall and F1
#   at the default merge threshold, the reliability table, pairs compared
#   and the model's own estimate of its precision and recall; and, as the
#   reference a user would write instead, exact-key rules in sqlite3 on
#   the same database, with the ratio of the F1s.
#   Speed: N generated contacts (BENCH_DEDUPE_ROWS, default 1000000; 0
#   skips it) with about 10% planted duplicates: wall time and peak memory.
#   Target: < 60 s, < 1 GiB.
. "$(dirname "$0")/lib.sh"
N=${BENCH_DEDUPE_ROWS:-1000000}
D=$top/../shared/data

# naive DB TYPE: the pairs exact-key rules find, as a user would write
# them in SQL (same email, same phone digits, same name and city or
# birth date; for accounts same name, phone or address), as NDJSON.
naive() {
	digits="substr(replace(replace(replace(replace(replace(replace(%s,' ',''),'-',''),'(',''),')',''),'+',''),'/',''),-9)"
	if [ "$2" = account ]; then
		t=accounts
		keys="lower(T.name)
$(printf "$digits" "json_extract(T.attrs,'\$.phone')")
lower(json_extract(T.attrs,'\$.address'))"
	else
		t=contacts
		dob="coalesce(json_extract(T.attrs,'\$.birth_date'),json_extract(T.attrs,'\$.date_of_birth'))"
		keys="lower(T.email)
$(printf "$digits" T.phone)
lower(T.first_name)||'/'||lower(T.last_name)||'/'||lower(T.city)
lower(T.first_name)||'/'||lower(T.last_name)||'/'||$dob"
	fi
	{
		echo "CREATE TEMP TABLE k (id TEXT, k TEXT);"
		echo "$keys" | while read -r k; do
			echo "INSERT INTO k SELECT id, $(echo "$k" | sed 's/T\.//g') FROM $t WHERE merged_into IS NULL;"
			echo "DELETE FROM k WHERE k IS NULL OR k = '';"
			echo "CREATE INDEX IF NOT EXISTS k_k ON k (k);"
			echo "SELECT a.id, b.id FROM k a JOIN k b ON a.k = b.k AND a.id < b.id;"
			echo "DELETE FROM k;"
		done
	} | sqlite3 -separator ' ' "$1" | sort -u |
		awk '{ printf "{\"type\":\"match\",\"a\":\"%s\",\"b\":\"%s\",\"probability\":1,\"action\":\"merge\"}\n", $1, $2 }'
}

# quality NAME TYPE TRUTH CSV REGEX: import, dedupe, evaluate (TRUTH as
# sed for dedupe-eval, REGEX the same for dedupe-groups).
quality() {
	crm-import --db "$dir/$1.db" -q -t "$2" --output none "$4" 2>"$dir/$1.rej" || true
	crm-dedupe --db "$dir/$1.db" -t "$2" --all --all-pairs -n >"$dir/$1.pairs" 2>"$dir/$1.err"
	printf '== %s (%s records; %s)\n' "$1" \
		"$(crm-export --db "$dir/$1.db" -t "$2" -f csv --fields id | tail -n +2 | wc -l)" \
		"$(sed -n 's/^crm-dedupe: //p' "$dir/$1.err" | head -1)"
	grep -i 'warning\|own estimate' "$dir/$1.err" | sed 's/^ *//' || true
	CRM_DB=$dir/$1.db "$top"/scripts/dedupe-eval -t "$2" --threshold 0.98 --truth "$3" "$dir/$1.pairs" |
		sed -n '/^predicted/,$p'
	naive "$dir/$1.db" "$2" >"$dir/$1.naive"
	crm=$(CRM_DB=$dir/$1.db "$top"/scripts/dedupe-eval -t "$2" --json --threshold 0.98 --truth "$3" "$dir/$1.pairs" | jq .merges.f1)
	ref=$(CRM_DB=$dir/$1.db "$top"/scripts/dedupe-eval -t "$2" --json --threshold 0.98 --truth "$3" "$dir/$1.naive" |
		jq -r '"\(.precision) \(.recall) \(.f1)"')
	echo "$ref" | awk -v c="$crm" '{ printf "naive exact-key rules (sqlite3, same run): precision %.4f, recall %.4f, F1 %.4f; crm merges F1 / naive F1: %.2f\n", $1, $2, $3, ($3 > 0 ? c / $3 : 0) }'
	# What a user gets: a real merge, and the groups it leaves, against
	# the estimate the tool prints of them.
	crm-dedupe --db "$dir/$1.db" -t "$2" --all >/dev/null 2>"$dir/$1.merge.err"
	"$top"/scripts/dedupe-groups --db "$dir/$1.db" -t "$2" --truth "$5" |
		sed 's/^/real merge: /'
	grep 'groups the merge leaves' "$dir/$1.merge.err" | sed 's/^ */estimate printed: /'
	# Running twice is running once: the nightly job's second run.
	crm-dedupe --db "$dir/$1.db" -t "$2" --all >/dev/null 2>"$dir/$1.merge2.err"
	"$top"/scripts/dedupe-groups --db "$dir/$1.db" -t "$2" --truth "$5" | tail -1 |
		sed 's/^/after a second run: /'
}

for f in febrl1 febrl2; do
	[ -f "$D/$f.csv" ] && quality "$f" contact 's/^rec-\([0-9]*\)-.*/\1/' "$D/$f.csv" '^rec-(\d+)-'
done
if [ -f "$D/dedupe/splink_fake_1000.csv" ]; then
	awk -F, 'BEGIN { OFS = "," } NR == 1 { print "external_id,first_name,last_name,birth_date,city,email"; next }
		{ print "rec-" $7 "-" $1, $2, $3, $4, $5, $6 }' "$D/dedupe/splink_fake_1000.csv" >"$dir/fake.csv"
	quality fake_1000 contact 's/^rec-\([0-9]*\)-.*/\1/' "$dir/fake.csv" '^rec-(\d+)-'
fi
if [ -f "$D/dedupe/restaurants_fodors.csv" ]; then
	awk -F, 'BEGIN { OFS = "," }
		FILENAME ~ /matches/ { if (FNR > 1) z[$2] = $1; next }
		FNR == 1 { if (!h++) print "external_id,name,address,city,phone,industry"; next }
		FILENAME ~ /fodors/ { print "rec-" $1 "-f" $1, $2, $3, $4, $5, $6; next }
		{ print "rec-" ($1 in z ? z[$1] : "z" $1) "-z" $1, $2, $3, $4, $5, $6 }' \
		"$D/dedupe/restaurants_matches_fodors_zagats.csv" "$D/dedupe/restaurants_fodors.csv" \
		"$D/dedupe/restaurants_zagats.csv" >"$dir/rest.csv"
	quality fodors_zagats account 's/^rec-\([z0-9]*\)-.*/\1/' "$dir/rest.csv" '^rec-([z0-9]+)-'
fi
"$top"/scripts/gen-people --crm -n 20000 -d 0.3 -s 11 >"$dir/crm.csv"
quality crm_copies contact 's/^E\([0-9]*\).*/\1/' "$dir/crm.csv" '^E(\d+)'
# business sites from nine lists, as accounts, among chains that share a
# name, a website and sometimes a switchboard
"$top"/scripts/gen-people --sites -n 3000 -s 3 >"$dir/sites.csv"
quality sites account 's/^S\([0-9]*\)-.*/\1/' "$dir/sites.csv" '^S(\d+)-'
# people with up to 20 copies each, as registries and event lists hold them
"$top"/scripts/gen-people -n 20000 -d 0.15 -m 20 -s 5 >"$dir/many.csv"
quality many_copies contact 's/^E\([0-9]*\).*/\1/' "$dir/many.csv" '^E(\d+)'

# What review decisions are worth: a reviewer who knows the truth decides
# up to 300 pairs of the queue on half the records; then the other half
# arrives. Groups of that half, with the decisions learnt from and not.
echo "== review decisions, learnt from and not (scripts/dedupe-review-sim)"
[ -f "$dir/fake.csv" ] && "$top"/scripts/dedupe-review-sim "$dir/fake.csv" --dir "$dir" \
	--decisions 300 2>/dev/null | sed 's/^/fake_1000: /'
"$top"/scripts/gen-people --crm -n 6000 -d 0.3 -s 11 >"$dir/crm6k.csv"
"$top"/scripts/dedupe-review-sim "$dir/crm6k.csv" --truth '^E(\d+)' --dir "$dir" \
	--decisions 300 2>/dev/null | sed 's/^/crm_copies 6k: /'

[ "$N" -gt 0 ] || exit 0
"$top"/scripts/gen-people -n "$N" >"$dir/people.csv"
crm-import --db "$dir/p.db" -q -t contact --output none "$dir/people.csv"
/usr/bin/time -f '%e %M' -o "$dir/time" \
	crm-dedupe --db "$dir/p.db" --all --review 0.5 >"$dir/p.pairs" 2>"$dir/err"
read -r secs kb <"$dir/time"
sed -n 1p "$dir/err"
printf 'generated %d contacts: %s s (target < 60), peak %d MiB (target < 1024)\n' \
	"$N" "$secs" $((kb / 1024))
"$top"/scripts/dedupe-eval --db "$dir/p.db" --truth 's/^E\([0-9]*\).*/\1/' "$dir/p.pairs" | tail -1
