#!/bin/sh
# Audio beyond PCM WAV: FLAC, Ogg Vorbis and mu-law WAV (a telephone
# line's) through libsndfile, to the same words; 8 kHz audio; and the
# public recordings of real voices, one speaker per channel, in the
# order they spoke.
# backends: sqlite postgresql
. "$(dirname "$0")/lib.sh"

command -v flite >/dev/null && command -v sox >/dev/null || skip_all "no flite or sox"
flite -voice slt -t "Please send the signed contract to our legal team by Friday." -o call.wav
sox call.wav call.flac
sox call.wav call.ogg
sox call.wav -r 8000 -e u-law phone.wav sinc 300-3400
sox call.wav -r 8000 -b 16 phone16.wav sinc 300-3400
words() { crm-transcribe -n -q -f ndjson --transcript "$1" 2>err | jq -r '[.transcript[].text] | join(" ")'; }
wav=$(words call.wav)
like "$wav" "contract" "PCM WAV: $wav"
is "$(words call.flac)" "$wav" "FLAC gives the same words"
like "$(words call.ogg)" "contract" "Ogg Vorbis is read ($(words call.ogg))"
like "$(words phone.wav)" "contract" "mu-law at 8 kHz, a telephone line's, is read ($(words phone.wav))"
like "$(words phone16.wav)" "contract" "16-bit PCM at 8 kHz ($(words phone16.wav))"
is "$(crm-transcribe -n -f ndjson call.flac 2>/dev/null | jq -r .format)" "wav" "a FLAC file is audio by its content"
cp call.flac noext
is "$(crm-transcribe -n -f ndjson noext 2>/dev/null | jq -r '.utterances > 0')" "true" "even without its extension"
printf 'fLaC\0\0\0\042garbage' >bad.flac
crm-transcribe -n -q bad.flac >/dev/null 2>err
is "$?" "65" "a broken FLAC file is bad data"
like "$(cat err)" "bad.flac: not audio (not WAV, FLAC, Ogg, MP3 or AIFF" "and says so"

# Real voices (the public recordings in ../shared/data/audio).
A=$TOP/../shared/data/audio
if [ -f "$A/stereo_diarization.wav" ]; then
	out=$(crm-transcribe -n -f ndjson --transcript --speakers Ann,Bob "$A/stereo_diarization.wav" 2>/dev/null)
	like "$(echo "$out" | jq -r '[.transcript[] | select(.speaker == "Ann") | .text] | join(" ")')" \
		"complaint against the wizard" "stereo: the left voice on its own channel"
	like "$(echo "$out" | jq -r '[.transcript[] | select(.speaker == "Bob") | .text] | join(" ")')" \
		"extremely" "the right voice on the other"
	is "$(echo "$out" | jq -r '[.transcript[].start] | . == sort')" "true" "utterances in the order they were spoken, across channels"
	like "$(crm-transcribe -n -f ndjson --transcript "$A/jfk.flac" 2>/dev/null | jq -r '[.transcript[].text] | join(" ")')" \
		"fellow americans" "a real speech in FLAC, 44.1 kHz stereo 24-bit"
else
	skip "real voices: ../shared/data/audio is not here"
fi
done_testing
