# bash completion for the crm tools.
# Options come from each tool's --complete-options, so they cannot drift.

_crm_values() {	# option -> its values
	case $1 in
	-t|--type) case $2 in crm-dedupe) echo "contact account" ;; crm-score) echo "deal contact" ;; crm-audit) echo "contact deal" ;; *) echo "account contact deal interaction product user task" ;; esac ;;
	-f|--format) case $2 in crm-export) echo "ndjson csv table" ;; crm-explain|crm-transcribe|crm-events|crm-db|crm-doctor) echo "ndjson table" ;; crm-serve) echo "json slack ndjson table" ;; crm-audit) echo "table ndjson junit github" ;; *) echo "csv ndjson mail auto" ;; esac ;;
	--role) echo "rep manager admin" ;;
	--events) echo "score.crossed call.hesitant task.due merge.done *" ;;
	--entity) echo "contact account deal interaction task user product score call merge" ;;
	--dates) echo "mdy dmy" ;;
	--log-format) echo "text logfmt json" ;;
	--output) echo "auto ndjson table none" ;;
	-e|--engine) echo "sphinx http" ;;
	--analyzer) echo "rules llm both" ;;
	--status) echo "ok warn fail" ;;
	--input-format) echo "wav vtt srt text json" ;;
	--suppressed) echo "refuse flag" ;;
	esac
}

_crm_tool() {
	local tool=$1 cur=${COMP_WORDS[COMP_CWORD]} prev=${COMP_WORDS[COMP_CWORD-1]}
	local vals
	vals=$(_crm_values "$prev" "$tool")
	if [ -n "$vals" ]; then
		COMPREPLY=($(compgen -W "$vals" -- "$cur"))
		return
	fi
	case $prev in
	--db|--key-file|-r|--rejects|--api-key-file|--llm-key-file|--phrases|--webhook-file|--password-file|--oauth2-token-file|--tls-cert|--tls-key|--secret-file|--url-file) COMPREPLY=($(compgen -f -- "$cur")); return ;;
	--watch|--model-dir) COMPREPLY=($(compgen -d -- "$cur")); return ;;
	esac
	if [[ $cur == -* ]]; then
		COMPREPLY=($(compgen -W "$("$tool" --complete-options 2>/dev/null | sed 's/=$//')" -- "$cur"))
	elif [ "$tool" = crm-dedupe ]; then
		COMPREPLY=($(compgen -W "review accept reject merges undo merge" -- "$cur"))
	elif [ "$tool" = crm-score ]; then
		COMPREPLY=($(compgen -W "train models activate weight weights" -- "$cur"))
	elif [ "$tool" = crm-audit ]; then
		COMPREPLY=($(compgen -W "bias quality privacy history trail" -- "$cur"))
	elif [ "$tool" = crm-key ]; then
		COMPREPLY=($(compgen -W "init rotate retire seal status" -- "$cur"))
	elif [ "$tool" = crm-db ]; then
		case $prev in
		crm-db|db) COMPREPLY=($(compgen -W "init count copy" -- "$cur")) ;;
		*) COMPREPLY=($(compgen -W "postgresql://" -- "$cur") $(compgen -f -- "$cur")) ;;
		esac
	elif [ "$tool" = crm-forget ] || [ "$tool" = crm-purge ]; then
		COMPREPLY=()
	elif [ "$tool" = crm-serve ]; then
		case $prev in
		token) COMPREPLY=($(compgen -W "add list revoke" -- "$cur")) ;;
		hook) COMPREPLY=($(compgen -W "add list rm deliveries retry run" -- "$cur")) ;;
		*) COMPREPLY=($(compgen -W "token hook" -- "$cur")) ;;
		esac
	elif [ "$tool" = crm-events ]; then
		COMPREPLY=()
	elif [ "$tool" = crm-transcribe ] && [ "$COMP_CWORD" -le 1 ]; then
		COMPREPLY=($(compgen -W "show" -- "$cur") $(compgen -f -- "$cur"))
	else
		COMPREPLY=($(compgen -f -- "$cur"))
	fi
}

_crm() {
	local i cmd=
	for ((i = 1; i < COMP_CWORD; i++)); do
		case ${COMP_WORDS[i]} in
		--db|--key-file) ((i++)) ;;
		-*) ;;
		*) cmd=${COMP_WORDS[i]}; break ;;
		esac
	done
	if [ -z "$cmd" ]; then
		local cur=${COMP_WORDS[COMP_CWORD]}
		if [ "${COMP_WORDS[COMP_CWORD-1]}" = --db ]; then
			COMPREPLY=($(compgen -f -- "$cur"))
		else
			COMPREPLY=($(compgen -W "$(crm commands 2>/dev/null) --db --help --version" -- "$cur"))
		fi
		return
	fi
	case $cmd in
	init|version) COMPREPLY=() ;;
	help) COMPREPLY=($(compgen -W "$(crm commands 2>/dev/null)" -- "${COMP_WORDS[COMP_CWORD]}")) ;;
	*) _crm_tool "crm-$cmd" ;;
	esac
}

_crm_import() { _crm_tool crm-import; }
_crm_export() { _crm_tool crm-export; }
_crm_dedupe() { _crm_tool crm-dedupe; }
_crm_score() { _crm_tool crm-score; }
_crm_explain() { _crm_tool crm-explain; }
_crm_audit() { _crm_tool crm-audit; }
_crm_transcribe() { _crm_tool crm-transcribe; }
_crm_notify() { _crm_tool crm-notify; }
_crm_serve() { _crm_tool crm-serve; }
_crm_events() { _crm_tool crm-events; }
_crm_key() { _crm_tool crm-key; }
_crm_forget() { _crm_tool crm-forget; }
_crm_purge() { _crm_tool crm-purge; }
_crm_db() { _crm_tool crm-db; }
_crm_doctor() { _crm_tool crm-doctor; }
complete -F _crm crm
complete -F _crm_import crm-import
complete -F _crm_export crm-export
complete -F _crm_dedupe crm-dedupe
complete -F _crm_score crm-score
complete -F _crm_explain crm-explain
complete -F _crm_audit crm-audit
complete -F _crm_transcribe crm-transcribe
complete -F _crm_notify crm-notify
complete -F _crm_serve crm-serve
complete -F _crm_events crm-events
complete -F _crm_key crm-key
complete -F _crm_forget crm-forget
complete -F _crm_purge crm-purge
complete -F _crm_db crm-db
complete -F _crm_doctor crm-doctor
