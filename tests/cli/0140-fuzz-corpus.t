#!/bin/sh
# The fuzzers' corpus as a regression test: every input the fuzzers kept
# (tests/fuzz/corpus/NAME, grown by make fuzz) and every crash they found
# is run again through its harness, built with the compiler of this build
# (under make asan: with ASan and UBSan). An input that crashes fails.
. "$(dirname "$0")/lib.sh"

for src in "$TOP"/tests/fuzz/fuzz-*.c; do
	name=${src##*/fuzz-}; name=${name%.c}
	dir=$TOP/tests/fuzz/corpus/$name
	want=$(find "$dir" -type f | wc -l)
	ok "$([ "$want" -gt 0 ]; echo $?)" "$name: a corpus of $want inputs"
	out=$("$CRM_BUILD/fuzz/replay-$name" "$dir" 2>err)
	is "$?:$out" "0:$want inputs" "$name: every input runs through the harness $(head -c 300 err)"
done

# The harnesses check what they parse, too: a transcript whose text is
# not UTF-8 keeps every utterance through its JSON form (a lost one aborts).
printf '\002Alex: the price is \214\346 fine\nMaria: ok\n' >bad-utf8
"$CRM_BUILD/fuzz/replay-transcript" bad-utf8 >/dev/null 2>err
is "$?" "0" "transcript: bytes that are not UTF-8 do not lose an utterance $(head -c 200 err)"
done_testing
