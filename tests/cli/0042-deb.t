#!/bin/sh
# make deb: a package lintian passes (each remaining tag explained in its
# overrides), that installs on a clean Debian 12 root (mmdebstrap, with
# its dependencies from the archive), passes its smoke test (crm doctor,
# an import, crm-serve answering as its unit starts it, the unit
# verified), upgrades from the previous version with the schema migrated
# and nothing lost, and purges cleanly.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || skip_all "installing into a root with dpkg needs root"
for c in mmdebstrap dpkg-deb fakeroot lintian git; do
	command -v $c >/dev/null || skip_all "$c is not installed (scripts/install-deps installs it)"
done
R=$T/root
# Stop what runs in the root (chroot and runuser fork: the background
# job's pid is not the server's).
stop_root() {
	for p in /proc/[0-9]*; do
		[ "$(readlink "$p/root" 2>/dev/null)" = "$R" ] && kill "${p#/proc/}" 2>/dev/null
	done
	sleep 0.3
}
cleanup() {
	stop_root
	umount "$R/proc" 2>/dev/null
	git -C "$TOP" worktree remove --force "$T/old" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

make -s -C "$TOP" O="$CRM_BUILD" deb >log 2>&1
ok $? "make deb $(tail -2 log)"
new=$(tail -1 log)
test -f "$new"
ok $? "it names the package it built ($new)"
lintian --tag-display-limit 0 "$new" 2>&1 | grep -v 'root privileges' >lint
is "$(cat lint)" "" "lintian: nothing left unexplained"
dpkg-deb -c "$new" >files
for f in ./usr/bin/crm-serve ./usr/bin/crm-doctor ./usr/bin/crm-nightly ./lib/systemd/system/crm-serve.service \
	 ./lib/systemd/system/crm-nightly.timer ./usr/share/man/man1/crm-doctor.1.gz ./etc/crm/crm.conf \
	 ./usr/share/bash-completion/completions/crm; do
	grep -q " $f\$\| $f -> " files
	ok $? "packaged: $f"
done

# The previous version: the tree before migration 11, built and
# packaged the same way.
prev=73947a0^
first=$new
if ! git -C "$TOP" cat-file -e "$prev^{commit}" 2>/dev/null; then
	skip "the upgrade: the previous version's commit ($prev) is not in this checkout (a shallow clone?)"
elif git -C "$TOP" worktree add -f "$T/old" "$prev" >/dev/null 2>&1 &&
     make -s -C "$T/old" O="$T/oldbuild" all >oldlog 2>&1; then
	"$TOP"/packaging/deb/build --version 0.0.11-1 --build "$T/oldbuild" --out "$T/old.deb" >/dev/null
	ok $? "the previous version packaged"
	first=$T/old.deb
else
	fail "the previous version ($prev) could not be built: $(tail -3 oldlog 2>/dev/null)"
fi

# A clean Debian 12 root.
mmdebstrap --variant=minbase bookworm "$R" http://deb.debian.org/debian >mm.log 2>&1
ok $? "a clean bookworm root $(tail -2 mm.log)"
cp /etc/resolv.conf "$R/etc/resolv.conf"
mount -t proc proc "$R/proc"
in_root() { chroot "$R" "$@"; }
as_crm() { chroot "$R" runuser -u crm -- env CRM_DB=/var/lib/crm/crm.db "$@"; }
cp "$first" "$R/tmp/first.deb"
cp "$new" "$R/tmp/new.deb"
in_root sh -c 'apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends /tmp/first.deb' >apt1.log 2>&1
ok $? "$([ "$first" = "$new" ] && echo "this" || echo "the previous") version installs with its dependencies $(tail -2 apt1.log)"
is "$(in_root stat -c '%U:%G %a' /var/lib/crm /etc/crm | tr '\n' ' ')" "crm:crm 750 root:crm 750 " \
	"the crm user's state folder, the configuration folder root's and the crm group's"

# Data under the previous version.
"$TOP"/scripts/gen-sample -n 400 -s 2 sample >/dev/null
cp -r sample "$R/tmp/sample"
chmod -R a+rX "$R/tmp/sample"
as_crm crm-import -q /tmp/sample/accounts.csv /tmp/sample/contacts.csv /tmp/sample/deals.csv >imp.log 2>&1
ok $? "an import as the crm user $(tail -2 imp.log)"
as_crm crm-export -f csv -t contact --fields id,email,first_name,last_name >before.csv 2>/dev/null
is "$(as_crm crm-db count /var/lib/crm/crm.db 2>/dev/null | jq .rows.contacts)" \
	"$(($(wc -l <before.csv) - 1))" "the contacts are there ($(($(wc -l <before.csv) - 1)))"

# The upgrade: the schema migrated, nothing lost.
if [ "$first" != "$new" ]; then
	in_root sh -c 'DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends /tmp/new.deb' >apt2.log 2>&1
	ok $? "the upgrade installs $(tail -2 apt2.log)"
	like "$(cat apt2.log)" "schema version 10 -> 11" "and brings the database's schema up to date"
fi
as_crm crm-export -f csv -t contact --fields id,email,first_name,last_name >after.csv 2>/dev/null
is "$(cmp before.csv after.csv >/dev/null && echo same || diff before.csv after.csv | head -3)" "same" \
	"every contact as it was"

# The smoke test: crm doctor, an import, crm-serve as its unit runs it.
as_crm crm-doctor >doc.ndjson 2>doc.err
is "$?" "0" "crm doctor passes in the installed root $(jq -r 'select(.status == "fail") | .check + ": " + .detail' doc.ndjson)"
is "$(jq -r 'select(.check == "database.schema") | .detail' doc.ndjson)" "version 11, current" "the schema current"
as_crm crm-import -q /tmp/sample/interactions.ndjson >/dev/null 2>&1
ok $? "the new version imports"
exec_start=$(in_root sed -n 's/^ExecStart=//p' /lib/systemd/system/crm-serve.service)
as_crm env CRM_LISTEN=127.0.0.1:0 sh -c "exec $(echo "$exec_start" | sed 's/\${CRM_LISTEN}/$CRM_LISTEN/')" \
	>serve.log 2>&1 &
for _ in $(seq 100); do grep -q listening serve.log 2>/dev/null && break; sleep 0.05; done
U=$(sed -n 's/.*listening on //p' serve.log)
is "$(curl -s "$U/v1/health" | jq -r .status)" "ok" "crm-serve, started as its unit starts it ($exec_start), answers"
stop_root	# as prerm stops the unit before a purge
# The units as packaged, verified (no systemd runs in the root): their
# programs looked for in the root.
for u in crm-serve.service crm-nightly.service crm-nightly.timer crm-transcribe-watch.service; do
	sed "s|/usr/bin/|$R/usr/bin/|g" "$R/lib/systemd/system/$u" >"$u"
	systemd-analyze verify --man=no "./$u" >v.out 2>&1
	is "$?:$(grep -v 'sysinit.target' v.out)" "0:" "systemd-analyze verify the packaged $u"
done

# Purge: nothing of it left.
in_root sh -c 'DEBIAN_FRONTEND=noninteractive apt-get purge -y -q crm' >apt3.log 2>&1
ok $? "purge $(tail -2 apt3.log)"
is "$(in_root sh -c 'ls -d /var/lib/crm /etc/crm /usr/bin/crm* /lib/systemd/system/crm* 2>/dev/null; getent passwd crm; getent group crm')" "" \
	"no program, unit, data, configuration or user left"
is "$(in_root dpkg-query -W -f '${Status}' crm 2>&1)" "dpkg-query: no packages found matching crm" "dpkg has forgotten it"
done_testing
