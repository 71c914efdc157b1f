#!/bin/sh
# The systemd units: installed with the programs, valid for
# systemd-analyze verify, the server's sandbox scored; the nightly
# command installed beside the tools.
. "$(dirname "$0")/lib.sh"
command -v make >/dev/null || skip_all "no make"

make -s -C "$TOP" O="$CRM_BUILD" install PREFIX=/opt/crm DESTDIR="$T/root" >log 2>&1
ok $? "make install $(tail -3 log)"
for f in crm-serve.service crm-nightly.service crm-nightly.timer crm-transcribe-watch.service; do
	test -f "$T/root/opt/crm/lib/systemd/system/$f"
	ok $? "installed $f"
done
is "$(grep -h '^ExecStart=' "$T"/root/opt/crm/lib/systemd/system/*.service | sort | tr '\n' ' ')" \
	"ExecStart=/opt/crm/bin/crm-nightly ExecStart=/opt/crm/bin/crm-serve --listen \${CRM_LISTEN} ExecStart=/opt/crm/bin/crm-transcribe --watch \${CRM_CALLS_DIR} " \
	"each runs its program from BINDIR"
test -x "$T/root/opt/crm/bin/crm-nightly"
ok $? "crm-nightly is installed as a command"

if ! command -v systemd-analyze >/dev/null; then
	skip "systemd-analyze verify: systemd-analyze is not installed"
	done_testing
	exit
fi
# Units whose programs exist here, for verify to find them.
make -s -C "$TOP" O="$T/u" units BINDIR="$T/root/opt/crm/bin" >log 2>&1
for u in "$T"/u/systemd/*; do
	systemd-analyze verify --man=no "$u" >out 2>&1
	is "$?:$(cat out)" "0:" "systemd-analyze verify $(basename "$u")"
done
systemd-analyze security --offline=yes "$T/u/systemd/crm-serve.service" >sec 2>&1
score=$(sed -n 's/.*Overall exposure level for crm-serve.service: \([0-9.]*\).*/\1/p' sec)
echo "# systemd-analyze security crm-serve.service: $score"
ok "$(echo "$score <= 2.0" | bc | grep -qx 1; echo $?)" "the server's sandbox: exposure $score (at most 2.0, 'OK')"
# verify is a check that fails: a misspelt directive, a program not there.
sed 's/^ProtectSystem=strict/ProtectSytem=strict/; s|^ExecStart=.*|ExecStart=/nonexistent/crm-serve|' \
	"$T/u/systemd/crm-serve.service" >bad.service
systemd-analyze verify --man=no ./bad.service >out 2>&1
is "$?" "1" "a unit whose program is missing fails verify"
like "$(cat out)" "Unknown key 'ProtectSytem'" "a misspelt directive is named"
done_testing
