# serve-lib.sh - the CRM the serve benchmarks load (serve.sh, fleet.sh):
# serve_load N builds $CRM_DB with N contacts and ten times as many
# interactions, a trained and scored lead model, and $dir/reps.lua: five
# reps with a token each and ids of their own open leads. serve.lua holds
# the requests.
serve_load() {
	N=$1
	t0=$(date +%s)
	"$top"/scripts/gen-sample -n "$N" -i $((N * 10)) "$dir/s" >/dev/null
	crm-import -q --output none "$dir"/s/*
	crm-score -t contact train -q >/dev/null
	crm-score -t contact --all -q >/dev/null
	printf 'load: %d contacts, %d interactions, trained and scored in %d s (not measured)\n' \
		"$(sqlite3 "$CRM_DB" 'select count(*) from contacts')" "$(sqlite3 "$CRM_DB" 'select count(*) from interactions')" \
		$(($(date +%s) - t0))

	# Five reps, a token each, and ids of their own open leads for the scripts.
	: >"$dir/reps.lua"
	printf 'reps = {\n' >>"$dir/reps.lua"
	sqlite3 "$CRM_DB" "select distinct owner from contacts where owner is not null order by 1" | while read -r owner; do
		tok=$(crm-serve token add "$owner" 2>/dev/null)
		ids=$(sqlite3 "$CRM_DB" "select '\"' || id || '\"' from contacts where owner = '$owner' and outcome is null and merged_into is null order by random() limit 2000" | paste -sd,)
		printf '  { token = "%s", ids = { %s } },\n' "$tok" "$ids" >>"$dir/reps.lua"
	done
	printf '}\n' >>"$dir/reps.lua"
}
