#!/bin/sh
# make install / uninstall with PREFIX and DESTDIR.
. "$(dirname "$0")/lib.sh"
command -v make >/dev/null || skip_all "no make"

make -s -C "$TOP" O="$CRM_BUILD" install PREFIX=/opt/crm DESTDIR="$T/root" >log 2>&1
ok $? "make install"
for f in bin/crm bin/crm-import bin/crm-export share/man/man1/crm-import.1 \
	 share/man/man5/crm.db.5 share/bash-completion/completions/crm-import \
	 share/zsh/site-functions/_crm share/fish/vendor_completions.d/crm.fish; do
	test -e "$T/root/opt/crm/$f"
	ok $? "installed $f"
done
out=$("$T/root/opt/crm/bin/crm" import --version)
like "$out" "crm-import" "the installed crm finds crm-import beside it"
make -s -C "$TOP" O="$CRM_BUILD" uninstall PREFIX=/opt/crm DESTDIR="$T/root" >log 2>&1
ok $? "make uninstall"
is "$(find "$T/root" -type f -o -type l | wc -l | tr -d ' ')" "0" "nothing left behind"
done_testing
