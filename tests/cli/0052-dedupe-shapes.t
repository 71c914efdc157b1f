#!/bin/sh
# crm-dedupe on data shaped like a CRM's: value frequencies, identifier
# conflicts, correlated fields, calibration on a generated population,
# and accounts (legal forms, street addresses, websites, sites shared by
# several organisations, a parent and its child).
# backends: sqlite postgresql
. "$(dirname "$0")/lib.sh"

# pair DB A B: the pair line of records with external ids A and B.
pair() {
	a=$(sqlite3 "$1" "select id from contacts where external_id='$2' union select id from accounts where external_id='$2'")
	b=$(sqlite3 "$1" "select id from contacts where external_id='$3' union select id from accounts where external_id='$3'")
	jq -c "select((.a==\"$a\" and .b==\"$b\") or (.a==\"$b\" and .b==\"$a\"))" "$4"
}

# ---- people: a CRM population with namesakes, plus cases made by hand
"$TOP"/scripts/gen-people --crm -n 4000 -d 0.3 -s 3 >people.csv
cat >>people.csv <<'EOF'
X1,Elena,Martin,emartin@gringottsenergy.com,512-647-8926,Gringotts Energy,Chicago
X2,Elena,Martin,emartin@umbrellasystems.com,+1 974 599 5771,Umbrella Systems,Osaka
X3,Tomas,Wojciechowski,tomas.w@kestrelfoods.com,+1 555 301 2233,Kestrel Foods,Leeds
X4,Tomas,Wojciechowski,,,Kestrel Foods,
X5,James,Smith,james.smith@kestrelfoods.com,+1 555 301 9876,Kestrel Foods,Leeds
X6,James,Smith,,,Kestrel Foods,
X7,Ravi,Okonkwo,ravi.okonkwo@oldcoalmining.com,+1 555 777 1212,Oldcoal Mining,Leeds
X8,Ravi,Okonkwo,rokonkwo@brightwindenergy.com,+1 555 777 1212,Brightwind Energy,York
X9,Ines,Haddad,ines.haddad@pivotallabs.com,+1 555 888 4545,Pivotal Labs,Boston
X10,Ines,Haddad,ineshaddad@gmail.com,,,Boston
X11,Mark,Hernandez,mark.hernandez@dalwencapital.com,+1 726 523 7535,Dalwen Capital,Sydney
X12,Mary,Hernandez,mary.hernandez@dalwencapital.com,+1 309 825 8090,Dalwen Capital,Sydney
EOF
crm-import --db p.db -q -t contact --output none people.csv
crm-dedupe --db p.db --all -n --all-pairs -f ndjson >p.pairs 2>p.err
ok $? "crm-dedupe on a CRM population"

x=$(pair p.db X1 X2 p.pairs)
is "$(echo "$x" | jq -r '.action // "distinct"')" "distinct" "same name, every identifier different: two people ($(echo "$x" | jq -c '.probability'))"
x=$(pair p.db X11 X12 p.pairs)
is "$(echo "$x" | jq -r '.fields.email.level')" "different" "two mailboxes at one domain compare as different"
is "$(echo "$x" | jq -r '.action // "distinct"')" "distinct" "and colleagues are not merged"
x=$(pair p.db X7 X8 p.pairs)
is "$(echo "$x" | jq -r '.action')" "merge" "a job change with the same mobile is one person"
is "$(echo "$x" | jq -r '.fields.email.level')" "fuzzy" "two work domains: no conflict, the company counts it"
x=$(pair p.db X9 X10 p.pairs)
is "$(echo "$x" | jq -r '.fields.email.level')" "missing" "a personal address beside a work one compares as nothing"
rare=$(pair p.db X3 X4 p.pairs | jq '.fields.last_name.weight')
common=$(pair p.db X5 X6 p.pairs | jq '.fields.last_name.weight')
is "$(echo "$rare > $common + 1" | bc)" "1" "a shared rare surname weighs more than a shared Smith ($rare, $common)"
is "$(pair p.db X3 X4 p.pairs | jq -r '.action')" "merge" "a badge scan of a rarely named person merges"
like "$(cat p.err)" "the model's own estimate at 0.98: precision" "the model says what it expects"
like "$(cat p.err)" "(between strangers, goes with" "and which fields go together between strangers"

# ---- calibration on a generated population: p means what it says
"$TOP"/scripts/gen-people --crm -n 6000 -d 0.3 -s 8 >cal.csv
crm-import --db cal.db -q -t contact --output none cal.csv
crm-dedupe --db cal.db --all -n --all-pairs -f ndjson >cal.pairs 2>cal.err
r=$(CRM_DB=cal.db "$TOP"/scripts/dedupe-eval --json --threshold 0.98 --truth 's/^E\([0-9]*\).*/\1/' cal.pairs)
is "$(echo "$r" | jq '.precision >= 0.98')" "true" "precision at the merge threshold ($(echo "$r" | jq -c '[.precision, .recall]'))"
is "$(echo "$r" | jq '.reliability[-1].observed >= 0.98')" "true" "pairs scored >= 0.999 are matches ($(echo "$r" | jq -c '.reliability[-1]'))"
# near: within 0.25 and the band's own sampling error (two standard
# errors of a share of its size): a band of 40 pairs is a small sample.
is "$(echo "$r" | jq '[.reliability[] | select(.pairs >= 30) |
	((.mean_p - .observed) | fabs) - 0.25 - 2 * ((.mean_p * (1 - .mean_p) / .pairs) | sqrt)] | max < 0')" "true" \
	"every band's observed share is near its mean prediction ($(echo "$r" | jq -c '[.reliability[] | select(.pairs >= 30) | [.mean_p, .observed, .pairs]]'))"
expect=$(sed -n 's/.* \([0-9]*\) matches expected.*/\1/p' cal.err)
truth=$(echo "$r" | jq .true_pairs)
is "$(echo "$expect > 0.75 * $truth && $expect < 1.25 * $truth" | bc)" "1" "matches expected without labels near the true count ($expect, $truth)"
is "$(grep -c 'warning' cal.err)" "0" "no warning on a population it can tell apart"

# ---- accounts
awk 'BEGIN {
	srand(5); split("Ka Lo Mi Ra Ten Bor Vel San Dri Ko Mar Lin Gus Ta Ber No", s, " ")
	split("Labs Foods Systems Logistics Health Capital Media Retail", k, " ")
	split("Oak Pine Maple Cedar Elm Birch Walnut Willow", st, " ")
	split("Denver Austin Boston Leeds Dublin Lyon", c, " ")
	print "Account ID,Account Name,Address,City,Phone,Website"
	for (i = 1; i <= 400; i++) {
		do w = s[1 + int(rand() * 16)] tolower(s[1 + int(rand() * 16)]) tolower(s[1 + int(rand() * 16)])
		while (w in seen)
		seen[w] = 1
		n = w " " k[1 + int(rand() * 8)]; a = (1 + int(rand() * 900)) " " st[1 + int(rand() * 8)] " Street"
		ci = c[1 + int(rand() * 6)]; ph = sprintf("+1 %03d %03d %04d", 200 + int(rand() * 800), int(rand() * 1000), int(rand() * 10000))
		web = "https://www." tolower(w) ".com/"
		printf "A%d,%s Inc,%s,%s,%s,%s\n", i, n, a, ci, ph, web
		if (i % 5 == 0) {
			sub(/ Street$/, " St.", a); sub(/^\+1 /, "", ph); gsub(/ /, "-", ph)
			printf "A%d-c,%s Incorporated,%s,%s,%s,%s\n", i, n, a, ci, ph, tolower(w) ".com"
		}
	}
}' >acc.csv
cat >>acc.csv <<'EOF'
L1,Acme Corporation,12 Main Street,Springfield,+1 217 555 0100,https://www.acme-widgets.com/about
L2,ACME Corp.,12 Main St.,Springfield,217-555-0100,acme-widgets.com
H1,Golden Nugget Hotel,129 E. Fremont St.,Las Vegas,702/385-7111,
H2,Stefanos,129 Fremont Street,Las Vegas,702-385-7111,
B1,Blue Bottle Coffee,300 Webster St,Oakland,510-555-0101,
B2,Blue Bottle Coffee,66 Mint St,Oakland,510-555-0199,
EOF
crm-import --db a.db -q -t account --output none acc.csv
crm-dedupe --db a.db -t account --all -n --all-pairs -f ndjson >a.pairs 2>a.err
ok $? "crm-dedupe on accounts"
x=$(pair a.db L1 L2 a.pairs)
is "$(echo "$x" | jq -r '[.fields.name.level, .fields["attrs.Address"].level, .fields.domain.level] | join(" ")')" \
	"exact exact exact" "legal forms, St and Street, and a website's host compare as equal"
is "$(echo "$x" | jq -r '.action')" "merge" "and the two are merged"
x=$(pair a.db H1 H2 a.pairs)
isnt_merge() { case $1 in merge) echo merged ;; *) echo "not merged" ;; esac; }
is "$(isnt_merge "$(echo "$x" | jq -r .action)")" "not merged" "two businesses at one address with one switchboard: not merged ($(echo "$x" | jq -c '[.probability, .action]'))"
x=$(pair a.db B1 B2 a.pairs)
is "$(echo "$x" | jq -r '.fields["attrs.Address"].level')" "different" "two house numbers are two buildings"
is "$(echo "$x" | jq -r '.action // "distinct"')" "distinct" "and two branches of one brand are not merged"
r=$(jq -r 'select(.action == "merge") | [.a, .b] | @tsv' a.pairs | while IFS='	' read -r a b; do
	x=$(sqlite3 a.db "select external_id from accounts where id='$a'"); y=$(sqlite3 a.db "select external_id from accounts where id='$b'")
	x=${x%-c}; y=${y%-c}; [ "$x" = L2 ] && x=L1; [ "$y" = L2 ] && y=L1
	[ "$x" = "$y" ] && echo same || echo wrong; done | sort | uniq -c | tr -s ' ' | tr '\n' ' ')
like "$r" "81 same" "every generated copy, and Acme, merged ($r)"
case $r in *wrong*) w=1 ;; *) w=0 ;; esac
ok $w "and nothing else"

# A parent and its child are never merged without a person.
printf 'Account ID,Account Name,Address,City,Phone,Parent ID\nP1,Initech,1 Initech Way,Austin,512-555-0100,\nP2,Initech,1 Initech Way,Austin,512-555-0100,P1\n' >pc.csv
crm-import --db a.db -q -t account --output none pc.csv
crm-dedupe --db a.db -t account --all -q -f ndjson >pc.out
x=$(pair a.db P1 P2 pc.out)
is "$(echo "$x" | jq -r '.action')" "review" "a parent and its child: to review"
is "$(echo "$x" | jq -r '.why')" "parent and child" "saying why"
is "$(sqlite3 a.db "select count(*) from accounts where external_id in ('P1','P2') and merged_into is null")" "2" "both kept"
is "$(sqlite3 a.db "select reason from match_reviews where reason = 'parent and child'")" "parent and child" "and queued for a person"

# Many copies of one person (a registry, an event list): groups of any
# size come together when their pairs hold on the whole, and a group
# never absorbs another person through one link (generated: the shape,
# not a measure of quality).
"$TOP"/scripts/gen-people -n 800 -d 0.3 -m 15 -s 9 >many.csv
crm-import --db many.db -q -t contact --output none many.csv
crm-dedupe --db many.db --all >/dev/null 2>many.err
PATH=$PATH:$TOP/scripts dedupe-groups --db many.db --truth '^E(\d+)' --json >groups.json
is "$(jq '.largest_group > 10' groups.json)" "true" "a group grows past ten records ($(jq .largest_group groups.json))"
is "$(jq '.precision >= 0.99 and .recall >= 0.9' groups.json)" "true" \
	"the groups a merge leaves: precision $(jq .precision groups.json), recall $(jq .recall groups.json)"
est=$(sed -n 's/.*groups the merge leaves, as the model sees them: precision \([0-9.]*\) .*, recall \([0-9.]*\) .*/\1 \2/p' many.err)
is "$(echo "$est $(jq -r '"\(.precision) \(.recall)"' groups.json)" | awk '{ d1 = $1 - $3; d2 = $2 - $4; print (d1 < 0.1 && d1 > -0.1 && d2 < 0.1 && d2 > -0.1) }')" "1" \
	"the estimate printed of the merge's groups ($est) is within 0.1 of the truth"

# Sites from several lists, as accounts, among chains of up to 30 sites
# that share a name and a website: the listings of one site come
# together, the sites of a chain stay apart (EM learns the site, not
# the chain, from pairs weighed by how many partners their records have).
"$TOP"/scripts/gen-people --sites -n 1500 -s 3 >sites.csv
crm-import --db sites.db -q -t account --output none sites.csv
crm-dedupe --db sites.db -t account --all >/dev/null 2>sites.err
PATH=$PATH:$TOP/scripts dedupe-groups --db sites.db -t account --truth '^S(\d+)-' --json >sgroups.json
is "$(jq '.precision >= 0.85 and .recall >= 0.85' sgroups.json)" "true" \
	"sites: the groups a merge leaves: precision $(jq .precision sgroups.json), recall $(jq .recall sgroups.json)"
done_testing
