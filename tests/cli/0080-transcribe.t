#!/bin/sh
# crm-transcribe: transcripts and real speech (flite) to calls, action
# items with owners and due dates, hesitation, tasks without duplicates;
# the http engine against a stand-in server on loopback; watch mode; bad
# input named and set aside.
# backends: sqlite postgresql
. "$(dirname "$0")/lib.sh"

cat >contacts.csv <<'EOF'
email,first_name,last_name,owner
jane@acme.com,Jane,Doe,alex
tom@initech.com,Tom,Smykowski,sam
EOF
crm-import -q contacts.csv >/dev/null
jane=$(q "select id from contacts where email = 'jane@acme.com'")

# --- a WebVTT transcript, speakers from voice tags -------------------------
cat >call.vtt <<'EOF'
WEBVTT

NOTE exported from the meeting tool

1
00:00:01.000 --> 00:00:04.000
<v Alex>Hi Jane, thanks for taking the time today.

2
00:00:07.000 --> 00:00:09.000
<v Jane>Honestly I'm not sure we have the budget this quarter.

3
00:00:13.500 --> 00:00:17.000
<v Jane>I need to check with finance, and we are also talking to another vendor.

4
00:00:17.500 --> 00:00:21.000
<v Alex>Understood. I will send you the revised proposal by Friday.

5
00:00:21.500 --> 00:00:24.000
<v Alex>Could you send me the security questionnaire next week?

6
00:00:24.500 --> 00:00:26.000
<v Jane>Sure, I can get that to you.
EOF
crm-transcribe -c jane@acme.com --at 2026-11-24T10:00 call.vtt >out.json 2>err
is "$?" "0" "vtt: exit 0"
is "$(jq -r '[.format, .utterances, .contact] | join(" ")' out.json)" "vtt 6 $jane" "vtt: six utterances, Jane's call"
is "$(jq -r '[.talk[] | "\(.speaker)=\(.role)"] | join(" ")' out.json)" "Alex=rep Jane=customer" \
	"the first speaker is the rep"
is "$(jq -r '[.action_items[] | "\(.owner) \(.due // "-") \(.due_phrase // "-")"] | join("; ")' out.json)" \
	"customer - -; rep 2026-11-27 by friday; customer 2026-11-30 next week" \
	"items: Jane checks with finance; Alex sends the proposal by Friday (the 27th); Jane sends the questionnaire next week (Monday the 30th)"
like "$(jq -r '.action_items[1].text' out.json)" "send you the revised proposal" "the rep's item is the proposal"
is "$(jq -r '.action_items | length' out.json)" "3" "\"I can get that to you\" accepts the request: no fourth item"
is "$(jq -r '.hesitation.hesitant' out.json)" "true" "hesitant (score $(jq -r .hesitation.score out.json))"
is "$(jq -r '[.hesitation.cues[].kind] | unique | join(",")' out.json)" "authority,budget,competition,pause,uncertainty" \
	"cues: budget, not sure, check with finance, another vendor, a 3 s pause before answering"
like "$(jq -r '[.hesitation.cues[].cue] | join("|")' out.json)" "check with finance" "the cue is quoted"
is "$(jq -r '[.trackers.budget, .trackers.competitor, .trackers.security] | join(" ")' out.json)" "1 1 1" "trackers"
is "$(jq -r '.sentiment.utterances | length' out.json)" "6" "a sentiment per utterance"
is "$(jq -r '.sentiment.utterances[0] > 0' out.json)" "true" "thanks are positive ($(jq -c .sentiment.utterances out.json))"
# The summary says what happened: who, what was agreed, what is open,
# the hesitation and its cues; not the transcript's opening lines.
sum=$(jq -r .summary out.json)
like "$sum" "Alex spoke with Jane." "summary: who"
like "$sum" "Alex will send Jane the revised proposal by Friday (due 2026-11-27)" "summary: the commitment, retold, with its date"
like "$sum" "Jane sounded hesitant: " "summary: the hesitation"
like "$sum" "(\"$(jq -r '[.hesitation.cues[]] | max_by(.weight) | .cue' out.json)\")" "summary: its weightiest cue quoted"
is "$(printf %s "$sum" | grep -c "$(head -c 40 call.vtt | tail -c 20)")" "0" "summary: not the transcript's first lines"
is "$(q "select count(*) from interactions where kind = 'call' and contact_id = '$jane'")" "1" "one call stored"
is "$(q "select count(*) from tasks where contact_id = '$jane' and owner = 'alex' and status = 'open'")" "4" \
	"four tasks in Alex's queue (the proposal, two waiting on Jane, a hesitation follow-up)"
is "$(q "select due_at from tasks where title = 'I will send you the revised proposal by Friday.'")" "2026-11-27" \
	"the proposal task is due Friday"
is "$(q "select count(*) from tasks where json_extract(attrs, '$.waiting_on') = 'customer' and title like 'Waiting on customer: %'")" "2" \
	"customer items wait on the customer"
is "$(q "select due_at from tasks where title like 'Follow up: the customer sounded hesitant%'")" "2026-11-26" \
	"hesitation follow-up due two working days later"
is "$(q "select hex(substr(body, 1, 4)) from transcripts")" "28B52FFD" "the transcript is stored as a zstd frame"
is "$(q "select count(*) from events where entity = 'call' and op = 'analysed' and json_extract(payload, '$.hesitant') = 1")" "1" \
	"an event says a hesitant call was analysed"

crm-transcribe -c jane@acme.com --at 2026-11-24T10:00 call.vtt >again.json
is "$(jq -r .existed again.json)" "true" "the same file again: already stored"
is "$(q "select count(*) from interactions where kind = 'call'") $(q "select count(*) from tasks")" "1 4" \
	"no second call, no duplicate task"

id=$(jq -r .interaction out.json)
crm-transcribe show "$id" >show.json
is "$(jq -r '.utterances | length' show.json)" "6" "show: the utterances come back"
is "$(jq -r '.utterances[3] | "\(.speaker) \(.start) \(.end) \(.text)"' show.json)" \
	"Alex 17500 21000 Understood. I will send you the revised proposal by Friday." "show: speaker, times and text intact"
is "$(jq -r '.analysis.hesitation.hesitant' show.json)" "true" "show: the analysis is stored"

# --- SRT, text, JSON -------------------------------------------------------
cat >tom.srt <<'EOF'
1
00:00:00,500 --> 00:00:03,000
Sam: Hi Tom, did your team try the new dashboard?

2
00:00:03,500 --> 00:00:07,000
Tom: We loved it. We are ready to sign.
Can you send the contract today?

3
00:00:07,500 --> 00:00:09,000
Sam: Absolutely, I'll send the contract this afternoon.
EOF
crm-transcribe -n --at 2026-03-02T09:00 tom.srt >srt.json
is "$(jq -r '[.utterances, (.action_items | length), .action_items[0].owner, .action_items[0].due, .hesitation.hesitant, .sentiment.label] | join(" ")' srt.json)" \
	"3 1 rep 2026-03-02 false positive" \
	"srt: multi-line cue joined; the request and its acceptance are one rep item due today; keen, not hesitant"

printf 'Rep: I will call you in two weeks.\nCustomer: Maybe next year. I need to think about it.\n' >notes.txt
crm-transcribe -n --at 2026-03-10 notes.txt >txt.json
is "$(jq -r '[.format, .action_items[0].due, .hesitation.hesitant] | join(" ")' txt.json)" "text 2026-03-24 true" \
	"text: 'in two weeks' from March 10; 'maybe next year' is hesitation"

cat >hubspot.json <<'EOF'
{"transcriptCreateUtterances": [
 {"speaker": {"name": "Nina"}, "text": "I'll email you the pricing for fifty seats tomorrow.", "startTimeMillis": 1000, "endTimeMillis": 4000},
 {"speaker": {"name": "Client"}, "text": "Great, we want to move forward.", "startTimeMillis": 4500, "endTimeMillis": 6000}
]}
EOF
crm-transcribe -n --at 2026-03-05 hubspot.json >hs.json
is "$(jq -r '[.format, .utterances, .talk[0].role, .action_items[0].owner, .action_items[0].due, .trackers.pricing] | join(" ")' hs.json)" \
	"json 2 rep rep 2026-03-06 1" "HubSpot JSON: speaker objects, millis, the pricing tracker"

# --- the labelled calls: action items and hesitation hold their quality ------
for set in "" heldout/; do
	(cd "$TOP" && CRM_BUILD=$CRM_BUILD scripts/calls-eval "tests/data/calls/${set}labels.ndjson") >eval.txt
	r=$(sed -n 's/.*recall \([0-9.]*\)  precision \([0-9.]*\).*/\1 \2/p' eval.txt)
	h=$(sed -n 's/hesitation accuracy \([0-9.]*\)/\1/p' eval.txt)
	is "$(echo "$r $h" | awk '{ print ($1 >= 0.9 && $2 >= 0.8 && $3 >= 0.85) }')" "1" \
		"labelled calls ${set:-dev}: recall, precision, hesitation accuracy $r $h (>= 0.9, 0.8, 0.85)"
done

# --- bad input: named, rejected, nothing stored ----------------------------
printf 'WEBVTT\n\n00:00:01.000 --> 00:00:xx.000\nhello\n' >broken.vtt
crm-transcribe -c jane@acme.com broken.vtt >/dev/null 2>err
is "$?" "65" "broken timestamp: exit 65"
like "$(cat err)" "broken.vtt:3: bad cue timing" "the file and line are named"
printf 'this is not audio' >fake.wav
crm-transcribe fake.wav 2>err >/dev/null
is "$?" "65" "a .wav that is not audio: exit 65"
like "$(cat err)" "fake.wav: not audio (not WAV, FLAC" "the reason is given"
: >empty.vtt
crm-transcribe empty.vtt 2>err >/dev/null
like "$(cat err)" "empty.vtt: empty file" "an empty file"
crm-transcribe -c nobody@example.com notes.txt 2>err >/dev/null
is "$?" "65" "unknown contact: exit 65"
like "$(cat err)" "no contact 'nobody@example.com'" "the contact is named"
is "$(q "select count(*) from interactions")" "1" "nothing stored from bad input"
crm-transcribe notes.txt fake.wav tom.srt >many.json 2>err
is "$?" "65" "several files: the worst status"
is "$(jq -r .format many.json | tr '\n' ' ')" "text srt " "the good files around a bad one are processed"

# --- real speech, offline engine -------------------------------------------
command -v flite >/dev/null || skip_rest "real speech: flite is not installed"
flite -voice slt -t "Hi, this is Alex from the sales team. I will send you the proposal by Friday. Could you check with your finance team about the budget?" -o jane@acme.com_2026-11-19T15-30.wav
crm-transcribe -f ndjson jane@acme.com_2026-11-19T15-30.wav >wav.json 2>err
is "$?" "0" "flite speech: exit 0 $(cat err)"
text=$(jq -r '.transcript // empty | .[].text' wav.json)
is "$(jq -r '[.format, .engine, .contact] | join(" ")' wav.json)" "wav sphinx $jane" \
	"wav: the engine is sphinx; the contact comes from the file name"
crm-transcribe show "$(jq -r .interaction wav.json)" | jq -r '[.utterances[].text] | join(" ")' >heard
for w in proposal friday finance budget; do
	grep -qw "$w" heard
	ok $? "heard '$w' in: $(cat heard)"
done
is "$(jq -r '[.action_items[] | "\(.owner) \(.due)"] | join("; ")' wav.json)" "rep 2026-11-20; customer null" \
	"speech: the rep sends the proposal by Friday (the 20th); the customer checks the budget"
# No speaker labels in speech: the summary names the people as the records
# do (the contact, and its owner who takes the tasks), not "the rep".
like "$(jq -r .summary wav.json)" "Alex spoke with Jane. Agreed: alex will send Jane " \
	"speech: the summary names Jane and her owner: $(jq -r .summary wav.json)"
is "$(q "select occurred_at from interactions where id = '$(jq -r .interaction wav.json)'")" "2026-11-19T15:30:00Z" \
	"the call time comes from the file name"

# Stereo, one speaker per channel, sample rate 44.1 kHz.
flite -voice kal16 -t "I am not sure we have the budget. Maybe next year." -o cust.wav
flite -voice slt -t "Thanks for your time today." -o rep.wav
python3 - rep.wav cust.wav stereo.wav <<'EOF'
import struct, sys, wave
def read(p):
    w = wave.open(p); d = w.readframes(w.getnframes()); w.close()
    return list(struct.unpack("<%dh" % (len(d) // 2), d))
rep, cust = read(sys.argv[1]), read(sys.argv[2])
# rep first, then a second of silence, then the customer
gap = [0] * 16000
left = rep + gap + [0] * len(cust)
right = [0] * len(rep) + gap + cust
# upsample to 44.1 kHz by linear interpolation
def up(x):
    out = []
    for i in range(int(len(x) * 44100 / 16000)):
        t = i * 16000 / 44100; j = int(t); f = t - j
        a = x[j]; b = x[j + 1] if j + 1 < len(x) else a
        out.append(int(a + (b - a) * f))
    return out
left, right = up(left), up(right)
w = wave.open(sys.argv[3], "wb"); w.setnchannels(2); w.setsampwidth(2); w.setframerate(44100)
w.writeframes(b"".join(struct.pack("<hh", l, r) for l, r in zip(left, right))); w.close()
EOF
crm-transcribe -n --transcript stereo.wav >st.json 2>err
is "$(jq -r '[.transcript[].speaker] | unique | join(",")' st.json)" "customer,rep" "stereo: a speaker per channel"
is "$(jq -r '.transcript[0].speaker' st.json)" "rep" "the rep spoke first"
is "$(jq -r '.hesitation.hesitant' st.json)" "true" "stereo: the customer's hesitation is heard ($(jq -c '[.hesitation.cues[].cue]' st.json))"
like "$(jq -r '[.transcript[] | select(.speaker == "customer") | .text] | join(" ")' st.json)" "budget" "the customer's words on the customer's channel"

# Silence and truncation.
python3 -c 'import wave; w = wave.open("silent.wav", "wb"); w.setnchannels(1); w.setsampwidth(2); w.setframerate(16000); w.writeframes(b"\0\0" * 32000); w.close()'
crm-transcribe -n silent.wav 2>err >/dev/null
is "$?" "65" "silent audio: exit 65"
like "$(cat err)" "silent.wav: no speech found" "silent audio is named"
head -c 20000 rep.wav >cut.wav
crm-transcribe -n cut.wav 2>err >/dev/null
like "$(cat err)" "cut.wav: truncated" "a truncated WAV is named"

# --- the http engine against a stand-in server -----------------------------
printf 'I will send you the contract tomorrow.\nWe need to check with legal first.\n' >segments
printf 'sekrit-key\n' >key
start_server() {	# start_server FAILURES
	rm -f port log
	python3 "$TOP/tests/cli/asr-server.py" port segments log "$1" sekrit-key &
	srv=$!
	for _ in $(seq 50); do [ -s port ] && break; sleep 0.1; done
	url=http://127.0.0.1:$(cat port)
}
start_server 2
crm-transcribe -n -e http --url "$url" --api-key-file key --at 2026-03-02 rep.wav >http.json 2>err &
tp=$!
# While it runs (it backs off twice), no process but the stand-in server
# has the key on its command line.
looks=0 leaks=0
while kill -0 "$tp" 2>/dev/null; do
	looks=$((looks + 1))
	leaks=$((leaks + $(ps -eo pid=,args= | awk -v srv="$srv" -v k="sekrit" '$1 != srv && index($0, k "-key")' | wc -l)))
	sleep 0.05
done
wait "$tp"
is "$?" "0" "http: exit 0 after two 503s $(cat err)"
ok $(( looks > 0 && leaks == 0 ? 0 : 1 )) "the key is on no command line while crm-transcribe runs ($leaks in $looks looks)"
is "$(awk '{print $1}' log | tr '\n' ' ')" "503 503 200 " "http: retried with backoff"
is "$(tail -1 log | awk '{print $2, $3, $4}')" "/v1/audio/transcriptions whisper-1 1" \
	"http: the OpenAI endpoint, the model, the bearer key"
is "$(jq -r '[.engine, .utterances, .action_items[0].owner, .action_items[0].due, .action_items[1].owner] | join(" ")' http.json)" \
	"http 2 rep 2026-03-03 customer" "http: segments become utterances, analysed"
CRM_ASR_API_KEY=wrong crm-transcribe -n -e http --url "$url" --retries 0 rep.wav 2>err >/dev/null
is "$?" "69" "http: a rejected key is exit 69"
like "$(cat err)" "HTTP 401" "the status is reported"
kill $srv; wait $srv 2>/dev/null
crm-transcribe -n -e http --url "$url" --retries 1 rep.wav 2>err >/dev/null
is "$?" "69" "http: server gone, exit 69"
like "$(cat err)" "speech server $url" "the server is named"

# --- watch mode --------------------------------------------------------------
mkdir inbox
cp tom.srt inbox/first.srt
crm-transcribe --watch inbox >watch.out 2>watch.err &
w=$!
for _ in $(seq 50); do [ -f inbox/done/first.srt ] && break; sleep 0.1; done
ok "$([ -f inbox/done/first.srt ]; echo $?)" "watch: a file already there is processed and moved to done/"
cp notes.txt inbox/.notes.tmp && mv inbox/.notes.tmp inbox/notes.txt
printf '{"contact": "jane@acme.com", "at": "2026-03-10T09:00"}' >inbox/broken.meta.json
cp broken.vtt inbox/broken.vtt
for _ in $(seq 50); do [ -f inbox/done/notes.txt ] && [ -f inbox/failed/broken.vtt ] && break; sleep 0.1; done
ok "$([ -f inbox/done/notes.txt ]; echo $?)" "watch: a file renamed in is processed"
ok "$([ -f inbox/failed/broken.vtt ] && [ -f inbox/failed/broken.meta.json ]; echo $?)" "watch: a bad file goes to failed/ with its sidecar"
like "$(cat inbox/failed/broken.vtt.reason)" "bad cue timing" "watch: the reason is kept"
crm-transcribe --watch inbox --once 2>second.err
like "$(cat second.err)" "another crm-transcribe is watching it" "one watcher per directory"
kill -TERM $w; wait $w
is "$?" "0" "watch: SIGTERM ends it cleanly"
is "$(grep -c '"type":"call"' watch.out)" "2" "watch: two calls reported"
cp inbox/done/first.srt inbox/again.srt
crm-transcribe --watch inbox --once >once.out 2>&1
is "$(jq -r .existed once.out) $(ls inbox/done | grep -c again.srt)" "true 1" \
	"restart: a file seen before is not stored twice, and is moved on"
done_testing
