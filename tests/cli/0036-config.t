#!/bin/sh
# crm's configuration: a file of NAME=value lines read by every tool,
# under the environment, under the options; the user's file over the
# system's; secrets and unknown names refused with file and line; crm
# config says where each value came from; crm-nightly reads it too.
. "$(dirname "$0")/lib.sh"
unset CRM_DB CRM_BUSY_TIMEOUT CRM_CONFIG
export HOME=$T XDG_CONFIG_HOME=$T/xdg
mkdir -p xdg/crm
src() {	# src SETTING: where crm config says SETTING came from
	crm config "$@" 2>/dev/null | jq -r --arg s "$SETTING" 'select(.setting == $s) | .source + " " + (.value // "null")'
}

printf 'CRM_DB=%s/file.db\n# the busy bound\nCRM_BUSY_TIMEOUT="7"\n' "$T" >xdg/crm/crm.conf
SETTING=CRM_DB
is "$(src)" "$T/xdg/crm/crm.conf:1 $T/file.db" "the user's file gives the database, with its line"
SETTING=CRM_BUSY_TIMEOUT
is "$(src)" "$T/xdg/crm/crm.conf:3 7" "a quoted value without its quotes"
printf 'first_name,email\nAda,ada@example.com\n' | crm-import -q -t contact >/dev/null 2>err
ok $? "a tool with no --db and no CRM_DB $(cat err)"
is "$(sqlite3 file.db 'select email from contacts')" "ada@example.com" "writes to the file's database"

# The environment over the file, an option over both.
SETTING=CRM_DB
is "$(CRM_DB=$T/env.db src)" "environment $T/env.db" "the environment wins over the file"
is "$(CRM_DB=$T/env.db crm --db "$T/opt.db" config 2>/dev/null | jq -r 'select(.setting == "CRM_DB") | .source + " " + .value')" \
	"option --db $T/opt.db" "an option wins over both"
printf 'first_name,email\nBob,bob@example.com\n' | CRM_DB=$T/env.db crm-import -q -t contact >/dev/null 2>&1
is "$(sqlite3 env.db 'select email from contacts'):$(sqlite3 file.db 'select count(*) from contacts')" "bob@example.com:1" \
	"and the tool uses what wins"

# CRM_CONFIG names one file, instead of the system's and the user's.
printf 'CRM_DB=%s/one.db\n' "$T" >one.conf
is "$(CRM_CONFIG=$T/one.conf src)" "$T/one.conf:1 $T/one.db" "CRM_CONFIG: that file alone"

# What a file may not hold: secrets, unknown names, lines that are not settings.
printf 'CRM_DB=%s/file.db\nCRM_LLM_API_KEY=sekrit\nCRM_DBB=typo\nnonsense\n' "$T" >xdg/crm/crm.conf
crm config >out 2>err
like "$(cat err)" "$T/xdg/crm/crm.conf:2: CRM_LLM_API_KEY is a secret" "a secret in the file is refused, with file and line"
like "$(cat err)" "crm.conf:3: no setting CRM_DBB" "an unknown name is named"
like "$(cat err)" "crm.conf:4: not NAME=value" "and a line that is not a setting"
is "$(jq -r 'select(.setting == "CRM_LLM_API_KEY") | .value' out)" "null" "the secret was not taken"
is "$(CRM_LLM_API_KEY=sekrit crm config 2>/dev/null | jq -r 'select(.setting == "CRM_LLM_API_KEY") | .value')" "(set)" \
	"a secret in the environment is shown set, never its value"
is "$(CRM_LLM_API_KEY=sekrit crm config 2>/dev/null | grep -c sekrit)" "0" "nowhere in the output"

# Read once: the dispatcher's children do not warn again.
crm export -t contact >/dev/null 2>err
is "$(grep -c 'is a secret' err)" "1" "crm export through the dispatcher: one warning, not two"

# --sh for scripts, and crm-nightly reading the file.
printf 'CRM_DB=%s/file.db\nCRM_NIGHTLY_STAGES=quality\nCRM_AUDIT_BY=it'"'"'s\n' "$T" >xdg/crm/crm.conf
eval "$(crm config --sh 2>/dev/null)"
is "$CRM_NIGHTLY_STAGES:$CRM_AUDIT_BY" "quality:it's" "--sh: export lines a shell can eval, quotes and all"
unset CRM_DB CRM_NIGHTLY_STAGES CRM_AUDIT_BY
CRM_BUILD=$CRM_BUILD "$TOP"/scripts/nightly.sh 2>night.err
is "$(awk '$2 != "skipped" { print $1 }' night.err | grep -v '^crm' | tr '\n' ' ')" "quality " \
	"crm-nightly takes its stages from the file ($(head -c 200 night.err))"
ok "$([ -f "$T/file.db.nightly.lock" ]; echo $?)" "and its database"
done_testing
