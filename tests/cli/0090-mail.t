#!/bin/sh
# crm-import and mail: .eml and mbox files (MIME, charsets, encodings,
# attachments, threads), malformed messages, and an IMAP mailbox served by
# a real dovecot on loopback, read incrementally.
# backends: sqlite postgresql
. "$(dirname "$0")/lib.sh"

cat >people.csv <<'EOF'
email,first_name,last_name,owner
jane@acme.com,Jane,Doe,alex
EOF
crm-import -q people.csv >/dev/null
jane=$(q "select id from contacts where email = 'jane@acme.com'")

cat >reply.eml <<'EOF'
From: Jane Doe <Jane@Acme.com>
To: Alex <alex@example.com>
Subject: =?UTF-8?Q?Re:_Pricing_for_caf=C3=A9?=
Date: Tue, 24 Nov 2026 10:00:00 +0100
Message-ID: <m1@acme.com>
Content-Type: text/plain; charset=iso-8859-1
Content-Transfer-Encoding: quoted-printable

Hi Alex, the pric=E9 looks fine. Send the contract=
 please.
EOF
cat >proposal.eml <<'EOF'
From: Alex <alex@example.com>
To: "Doe, Jane" <jane@acme.com>, bob@elsewhere.org
Subject: Proposal
Date: Wed, 25 Nov 2026 09:30:00 -0500
Message-ID: <m2@example.com>
In-Reply-To: <m1@acme.com>
References: <m1@acme.com>
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="XYZ"

--XYZ
Content-Type: multipart/alternative; boundary=inner

--inner
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: base64

SGkgSmFuZSwgdGhlIHByb3Bvc2FsIGlzIGF0dGFjaGVkLg==
--inner
Content-Type: text/html; charset=utf-8

<p>Hi Jane, the <b>proposal</b> is attached.</p>
--inner--
--XYZ
Content-Type: application/pdf; name="proposal.pdf"
Content-Disposition: attachment; filename="=?UTF-8?B?UHJvcG9zYWwgMjAyNy5wZGY=?="
Content-Transfer-Encoding: base64

JVBERi0xLjQKJcfs
--XYZ--
EOF
crm-import --self example.com --output ndjson reply.eml proposal.eml >out.ndjson 2>err
is "$?" "0" "two .eml files: exit 0 $(cat err)"
r=$(jq -c 'select(.external_id == "m1@acme.com")' out.ndjson)
is "$(echo "$r" | jq -r '[.kind, .direction, .contact_id, .occurred_at] | join(" ")')" "email inbound $jane 2026-11-24T09:00:00Z" \
	"inbound mail from Jane, her contact, the date in UTC"
is "$(echo "$r" | jq -r .subject)" "Re: Pricing for café" "an encoded-word subject, decoded"
is "$(echo "$r" | jq -r .body)" "Hi Alex, the pricé looks fine. Send the contract please." \
	"quoted-printable Latin-1 to UTF-8, soft line break joined"
p=$(jq -c 'select(.external_id == "m2@example.com")' out.ndjson)
is "$(echo "$p" | jq -r '[.direction, .contact_id, .occurred_at, .attrs.thread] | join(" ")')" "outbound $jane 2026-11-25T14:30:00Z m1@acme.com" \
	"outbound to Jane (our domain sent it), in the thread of her message"
is "$(echo "$p" | jq -r .body)" "Hi Jane, the proposal is attached." "the text/plain part (base64) wins over the HTML"
is "$(echo "$p" | jq -c '.attrs.attachments')" '[{"name":"Proposal 2027.pdf","type":"application/pdf","size":12}]' \
	"the attachment is listed with its decoded name and size, not stored"
is "$(q "select count(*) from interactions where body like '%JVBERi%'")" "0" "no attachment bytes in the database"

# An mbox: a known sender, a stranger, a broken message.
cat >box.mbox <<'EOF'
From jane@acme.com Tue Nov 24 11:00:00 2026
From: jane@acme.com
To: alex@example.com
Subject: Budget
Date: 24 Nov 2026 11:00 +0000
Message-ID: <m3@acme.com>

We need to check with finance first.
>From the team: thanks.

From stranger@new.io Tue Nov 24 12:00:00 2026
From: Sam Stranger <stranger@new.io>
To: alex@example.com
Subject: Interested
Date: Tue, 24 Nov 2026 12:00:00 +0000
Message-ID: <m4@new.io>
Content-Type: multipart/mixed; boundary="never-closed"

--never-closed
Content-Type: text/plain; charset=x-unknown-charset

Can you send pricing? \377
From nobody Tue Nov 24 13:00:00 2026
Subject: no sender, no date

just text
EOF
sed -i 's/\\377/\xff/' box.mbox
crm-import --self example.com --output ndjson -r rejects.ndjson box.mbox >box.out 2>err
is "$(jq -r .external_id box.out)" "m3@acme.com" "mbox: the known sender's message lands"
like "$(jq -r .body box.out)" ">From the team" "a >From line stays as written"
like "$(cat err)" "2 messages skipped" "the summary counts skipped messages"
is "$(jq -r '"\(.line) \(.reason)"' rejects.ndjson | tr '\n' '|')" \
	"2 message 2 skipped: sender is not a contact|3 message 3 skipped: not an email message (no From or Date header)|" \
	"each skipped message is in the rejects file with its reason"
crm-import --self example.com --create-leads --output ndjson box.mbox >leads.out 2>err
is "$(jq -r 'select(.type == "contact") | [.email, .first_name, .last_name, .lifecycle_stage] | join(" ")' leads.out)" \
	"stranger@new.io Sam Stranger lead" "--create-leads: the stranger becomes a lead"
is "$(jq -r 'select(.external_id == "m4@new.io") | .body' leads.out)" "Can you send pricing? �" \
	"unclosed boundary and an unknown charset still give the text, bad bytes replaced"
is "$(jq -r 'select(.external_id == "m3@acme.com") | .status' leads.out)" "unchanged" "the same message again: unchanged"
is "$(q "select count(*) from interactions")" "4" "no duplicates after importing the mbox twice"
# A Message-ID with a byte 0xFF: that message is one reject, the next lands.
printf 'From x Tue Nov 24 14:00:00 2026\nFrom: jane@acme.com\nTo: alex@example.com\nSubject: A\nDate: 24 Nov 2026 14:00 +0000\nMessage-ID: <bad\377id@acme.com>\n\none\n\nFrom x Tue Nov 24 15:00:00 2026\nFrom: jane@acme.com\nTo: alex@example.com\nSubject: B\nDate: 24 Nov 2026 15:00 +0000\nMessage-ID: <after-bad@acme.com>\n\ntwo\n' >ff.mbox
crm-import --self example.com --output ndjson -r ff-rejects.ndjson ff.mbox >ff.out 2>err
is "$?" "0" "an mbox with a 0xFF in a Message-ID imports"
is "$(jq -r .external_id ff.out)" "after-bad@acme.com" "the message after it lands"
is "$(jq -r '"\(.line) \(.reason)"' ff-rejects.ndjson)" "1 message 1 skipped: the Message-ID is not valid UTF-8" "the bad one is one reject, with its reason"
printf 'this is not mail\n' >notmail.eml
crm-import notmail.eml -r rej2.ndjson 2>err >/dev/null
like "$(jq -r .reason rej2.ndjson)" "not an email message" "a .eml that is not mail is rejected with the reason"

# --- IMAP, against dovecot on loopback -----------------------------------
[ -x /usr/sbin/dovecot ] || skip_rest "a real IMAP server: dovecot is not installed"
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()')
mkdir -p dv/run dv/state dv/home/alex/Maildir/new dv/home/alex/Maildir/cur dv/home/alex/Maildir/tmp
printf 'alex@example.com:{PLAIN}s3cret\n' >dv/passwd
cat >dv/dovecot.conf <<EOF
base_dir = $T/dv/run
state_dir = $T/dv/state
log_path = $T/dv/dovecot.log
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain
passdb {
  driver = passwd-file
  args = scheme=PLAIN username_format=%u $T/dv/passwd
}
userdb {
  driver = static
  args = uid=nobody gid=nogroup home=$T/dv/home/%n
}
mail_location = maildir:~/Maildir
default_internal_user = nobody
default_internal_group = nogroup
default_login_user = nobody
service imap-login {
  chroot =
  inet_listener imap {
    address = 127.0.0.1
    port = $port
  }
  inet_listener imaps {
    port = 0
  }
}
service anvil {
  chroot =
}
EOF
deliver() {	# deliver FILE NAME
	cp "$1" "dv/home/alex/Maildir/new/$2"
	chmod -R a+rwX dv/home
}
deliver reply.eml 1.eml
chmod a+rx "$T" "$T/dv"
/usr/sbin/dovecot -c "$T/dv/dovecot.conf" -F >dv/out 2>&1 &
dv=$!
trap 'kill $dv 2>/dev/null; rm -rf "$T"' EXIT
for _ in $(seq 50); do grep -q "starting up" dv/dovecot.log 2>/dev/null && break; sleep 0.1; done
url="imap://alex%40example.com@127.0.0.1:$port/INBOX"
printf 's3cret\n' >pw
if on_pg; then imapdb=$(pg_newdb imap); else imapdb=$T/imap.db; fi
CRM_DB=$imapdb crm-import -q people.csv >/dev/null
export CRM_DB=$imapdb
crm-import --imap "$url" --password-file pw --self example.com --output ndjson >imap1.out 2>err
is "$?" "0" "IMAP: exit 0 $(cat err)"
is "$(jq -r '[.external_id, .direction, .contact_id != null] | join(" ")' imap1.out)" "m1@acme.com inbound true" \
	"IMAP: the message in INBOX becomes Jane's inbound email"
is "$(q "select json_extract(value, '$.uid') from meta where key like 'imap:%'")" "1" "the last UID is kept"
crm-import --imap "$url" --password-file pw --self example.com --output ndjson >imap2.out 2>err
is "$(wc -l <imap2.out | tr -d ' ')" "0" "a second run fetches nothing"
like "$(cat err)" "0 new messages" "and says so"
deliver proposal.eml 2.eml
deliver box.mbox 3.eml	# one message file holding the first mbox message
CRM_IMAP_PASSWORD=s3cret crm-import --imap "$url" --self example.com --output ndjson >imap3.out 2>err
is "$(jq -r .external_id imap3.out | sort | tr '\n' ' ')" "m2@example.com m3@acme.com " \
	"new mail only: the next run takes the two new messages (password from the environment)"
is "$(q "select count(*) from interactions")" "3" "three emails, none twice"
crm-import --imap "$url" --self example.com 2>err >/dev/null
is "$?" "69" "no password: exit 69"
like "$(cat err)" "Login denied" "the server's refusal is reported"
is "$(q "select json_extract(value, '$.uid') from meta where key like 'imap:%'")" "3" "a failed run keeps the place"
ps -eo args | grep -v grep | grep -q s3cret
ok "$([ $? -ne 0 ]; echo $?)" "the password is on no command line"
# A new UIDVALIDITY (the mailbox was rebuilt): everything again, nothing twice.
kill $dv; wait $dv 2>/dev/null
rm -f dv/home/alex/Maildir/dovecot* dv/home/alex/Maildir/dovecot-uidlist
/usr/sbin/dovecot -c "$T/dv/dovecot.conf" -F >dv/out 2>&1 &
dv=$!
sleep 1
crm-import --imap "$url" --password-file pw --self example.com --output ndjson >imap4.out 2>err
is "$(jq -r .status imap4.out | sort | uniq -c | tr -s ' ' | tr '\n' ' ')" " 3 unchanged " \
	"UIDVALIDITY changed: all three read again, all unchanged"
is "$(q "select count(*) from interactions")" "3" "still three emails"
done_testing
