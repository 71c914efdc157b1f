# fish completion for crm, crm-import, crm-export, crm-dedupe. Options come from each
# tool's --complete-options.

function __crm_opts --argument-names tool
    $tool --complete-options 2>/dev/null | string match -r -- '^--[^=]+' | string replace -- '--' ''
end

for tool in crm-import crm-export crm-dedupe crm-score crm-explain crm-audit crm-transcribe crm-notify crm-serve crm-events crm-key crm-forget crm-purge crm-db crm-doctor
    complete -c $tool -f
    for o in (__crm_opts $tool)
        complete -c $tool -l $o
    end
    complete -c $tool -s t -l type -x -a 'account contact deal interaction product user task'
    complete -c $tool -l db -r -F
    complete -c $tool -l log-format -x -a 'text logfmt json'
    complete -c $tool -l key-file -r -F
end
complete -c crm-import -s f -l format -x -a 'csv ndjson mail auto'
complete -c crm-import -l password-file -r -F
complete -c crm-import -l oauth2-token-file -r -F
complete -c crm-export -s f -l format -x -a 'ndjson csv table'
complete -c crm-import -l dates -x -a 'mdy dmy'
complete -c crm-import -l output -x -a 'auto ndjson table none'
complete -c crm-import -s r -l rejects -r -F
complete -c crm-import -F

complete -c crm -f
complete -c crm -n __fish_use_subcommand -a '(crm commands 2>/dev/null)'
complete -c crm -n __fish_use_subcommand -l db -r -F
complete -c crm -n '__fish_seen_subcommand_from help' -a '(crm commands 2>/dev/null)'
complete -c crm -n '__fish_seen_subcommand_from import' -a '(__fish_complete_path)'
complete -c crm -n '__fish_seen_subcommand_from import export' -s t -l type -x -a 'account contact deal interaction product user task'
complete -c crm-dedupe -n __fish_use_subcommand -a 'review accept reject merges undo merge'
complete -c crm-dedupe -s t -l type -x -a 'contact account'
complete -c crm-score -n __fish_use_subcommand -a 'train models activate weight weights'
complete -c crm-score -s t -l type -x -a 'deal contact'
complete -c crm-explain -s f -l format -x -a 'ndjson table'
complete -c crm-audit -n __fish_use_subcommand -a 'bias quality privacy history trail'
complete -c crm-audit -s t -l type -x -a 'contact deal'
complete -c crm-audit -l fail-on -x -a 'ratio parity tpr fpr calibration all none'
complete -c crm-audit -l report -r -F
complete -c crm-audit -s f -l format -x -a 'table ndjson junit github'
complete -c crm-transcribe -n __fish_use_subcommand -a 'show'
complete -c crm-transcribe -F
complete -c crm-transcribe -s e -l engine -x -a 'sphinx http'
complete -c crm-transcribe -l analyzer -x -a 'rules llm both'
complete -c crm-transcribe -l input-format -x -a 'wav vtt srt text json'
complete -c crm-transcribe -s f -l format -x -a 'ndjson table'
complete -c crm-transcribe -l watch -x -a '(__fish_complete_directories)'
complete -c crm-transcribe -l api-key-file -r -F
complete -c crm-transcribe -l phrases -r -F
complete -c crm-notify -l status -x -a 'ok warn fail'
complete -c crm-notify -l webhook-file -r -F
complete -c crm-serve -n __fish_use_subcommand -a 'token hook'
complete -c crm-serve -n '__fish_seen_subcommand_from token' -a 'add list revoke'
complete -c crm-serve -n '__fish_seen_subcommand_from hook' -a 'add list rm deliveries retry run'
complete -c crm-serve -l role -x -a 'rep manager admin'
complete -c crm-serve -l format -x -a 'json slack ndjson table'
complete -c crm-serve -l events -x -a 'score.crossed call.hesitant task.due merge.done'
complete -c crm-serve -l tls-cert -r -F
complete -c crm-serve -l tls-key -r -F
complete -c crm-serve -l secret-file -r -F
complete -c crm-serve -l url-file -r -F
complete -c crm-events -s f -l format -x -a 'ndjson table'
complete -c crm-events -l entity -x -a 'contact account deal interaction task user product score call merge'
complete -c crm-key -n __fish_use_subcommand -a 'init rotate retire seal status'
complete -c crm-key -s f -l format -x -a 'ndjson table'
complete -c crm-import -l suppressed -x -a 'refuse flag'
complete -c crm-db -n __fish_use_subcommand -a 'init count copy'
complete -c crm-db -s f -l format -x -a 'ndjson table'
complete -c crm-db -n '__fish_seen_subcommand_from init count copy' -F
complete -c crm-purge -l retain -x -a 'interactions= transcripts= leads= events= deliveries='
complete -c crm-doctor -s f -l format -x -a 'ndjson table'
