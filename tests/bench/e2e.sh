#!/bin/sh
# e2e.sh - CSV to scores, crm against a Python pipeline, on the Maven CRM
# data (../shared/data/maven-crm; skipped without it). Target: crm in less
# than half the time. Median of three runs each.
#   crm:    crm-import the four CSVs; crm-score train; crm-score --all
#   Python: pandas reads and joins the same CSVs, encodes categories,
#           splits by close date, trains xgboost (early stopping on a
#           validation slice), scores the open deals
. "$(dirname "$0")/lib.sh"
M=$top/../shared/data/maven-crm
[ -f "$M/sales_pipeline.csv" ] || { echo "e2e: no Maven data, skipped"; exit 0; }
/usr/bin/python3 -c 'import xgboost, pandas' 2>/dev/null || { echo "e2e: no python3-xgboost, skipped"; exit 0; }

crm_run() {
	rm -f "$dir"/crm.db*
	t0=$(now)
	crm-import --db "$dir/crm.db" -q --output none --source maven "$M"/*.csv
	crm-score --db "$dir/crm.db" train -q >/dev/null
	crm-score --db "$dir/crm.db" --all -q >"$dir/crm.scores"
	echo "$(now) - $t0" | bc
}

py_run() {
	t0=$(now)
	/usr/bin/python3 - "$M" "$dir/py.scores" <<'PYEOF'
import sys
import pandas as pd, xgboost as xgb
m, out = sys.argv[1], sys.argv[2]
p = pd.read_csv(f"{m}/sales_pipeline.csv")
pr = pd.read_csv(f"{m}/products.csv").rename(columns={"product": "catalogue"})
# "GTXPro" in the pipeline is "GTX Pro" in the catalogue.
p["pkey"] = p["product"].str.replace(" ", "")
pr["pkey"] = pr["catalogue"].str.replace(" ", "")
df = (p.merge(pd.read_csv(f"{m}/accounts.csv"), on="account", how="left")
       .merge(pr, on="pkey", how="left")
       .merge(pd.read_csv(f"{m}/sales_teams.csv"), on="sales_agent", how="left"))
df["close_date"] = pd.to_datetime(df["close_date"], format="%m/%d/%Y")
cats = ["product", "sales_agent", "sector", "office_location", "manager", "regional_office", "series", "subsidiary_of"]
nums = ["year_established", "revenue", "employees", "sales_price"]
for c in cats:
    df[c] = df[c].astype("category")
closed = df[df.deal_stage.isin(["Won", "Lost"])].sort_values("close_date")
y = (closed.deal_stage == "Won").astype(int)
n = len(closed); ntr = int(n * 0.8); nfit = int(ntr * 0.85)
X = closed[cats + nums]
model = xgb.XGBClassifier(n_estimators=300, max_depth=5, learning_rate=0.05, tree_method="hist",
                          enable_categorical=True, max_cat_to_onehot=4, subsample=0.9,
                          min_child_weight=2, early_stopping_rounds=30, eval_metric="auc", n_jobs=2)
model.fit(X[:nfit], y[:nfit], eval_set=[(X[nfit:ntr], y[nfit:ntr])], verbose=False)
open_ = df[~df.deal_stage.isin(["Won", "Lost"])]
pd.DataFrame({"id": open_.opportunity_id, "p": model.predict_proba(open_[cats + nums])[:, 1]}).to_csv(out, index=False)
PYEOF
	echo "$(now) - $t0" | bc
}

c=; p=
for i in 1 2 3; do
	c="$c $(crm_run)"
	p="$p $(py_run)"
done
cs=$(echo "$c" | tr ' ' '\n' | grep . | median)
ps=$(echo "$p" | tr ' ' '\n' | grep . | median)
printf 'Maven CSV to scores: crm %s s (%d open deals), Python pandas+xgboost %s s (%d), crm/Python %.2f (target < 0.5)\n' \
	"$cs" "$(wc -l <"$dir/crm.scores")" "$ps" "$(($(wc -l <"$dir/py.scores") - 1))" "$(echo "$cs / $ps" | bc -l)"
