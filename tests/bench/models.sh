#!/bin/sh
# models.sh - crm-score against Python's xgboost (its defaults) and
# scikit-learn on each data set, the same rows and split in one run
# (scripts/compare-python): the generated sample's deals and leads, the
# Maven deals, the Olist leads. Prints crm's cross-validated AUC with its
# interval, crm's and the references' AUC on the held-out rows, and the
# ratio. Needs Debian's python3-xgboost, python3-sklearn, python3-pandas.
. "$(dirname "$0")/lib.sh"
data=$top/../shared/data
/usr/bin/python3 -c 'import xgboost, sklearn, pandas' 2>/dev/null || {
	echo "models: skipped (needs python3-xgboost, python3-sklearn, python3-pandas)"
	exit 0
}

line() {	# line SET TYPE DB
	r=$(CRM_DB=$3 "$top"/scripts/compare-python -t "$2" 2>/dev/null | tail -1)
	printf '%-22s cv AUC %s %s  held-out AUC: crm %s, xgboost %s (ratio %s), sklearn %s (ratio %s)  [%s folds]  train s: crm %s (search+refit), xgboost %s, sklearn %s\n' "$1" \
		"$(echo "$r" | jq -r .crm_cv_auc)" "$(echo "$r" | jq -c .crm_cv_auc_ci)" \
		"$(echo "$r" | jq -r .crm_auc)" "$(echo "$r" | jq -r .xgboost_auc)" "$(echo "$r" | jq -r .crm_over_xgboost)" \
		"$(echo "$r" | jq -r .sklearn_auc)" "$(echo "$r" | jq -r .crm_over_sklearn)" "$(echo "$r" | jq -r .crm_folds)" \
		"$(echo "$r" | jq -r .crm_seconds)" "$(echo "$r" | jq -r .xgboost_seconds)" "$(echo "$r" | jq -r .sklearn_seconds)"
}

"$top"/scripts/gen-sample -n 3000 -s 5 "$dir/sample" >/dev/null
CRM_DB=$dir/sample.db crm-import -q --output none "$dir"/sample/*
line "sample deals" deal "$dir/sample.db"
line "sample leads" contact "$dir/sample.db"
if [ -d "$data/maven-crm" ]; then
	CRM_DB=$dir/maven.db crm-import -q --output none --source maven "$data"/maven-crm/*.csv
	line "Maven deals" deal "$dir/maven.db"
fi
if [ -d "$data/olist" ]; then
	"$top"/scripts/olist-to-crm "$data/olist" >"$dir/olist.ndjson"
	CRM_DB=$dir/olist.db crm-import -q --output none "$dir/olist.ndjson"
	line "Olist leads" contact "$dir/olist.db"
fi
