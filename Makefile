# crm - an AI CRM as a Unix toolkit.
#
#   make            build everything into $(O)/ (default: build/)
#   make check      build, then run unit and command tests through prove
#   make asan       the same tests on an AddressSanitizer + UBSan build
#   make demo       import a generated sample CRM and print a summary
#   make bench      import speed against sqlite3's .import; dedupe quality and
#                   speed; scoring speed and the predictor against XGBoost's;
#                   word error rate and speed of transcription, action items;
#                   crm-serve with 1, 2 and 3 processes on SQLite and on
#                   PostgreSQL; crm db copy to PostgreSQL and back, events,
#                   pgbench; API reads and rescores at 100,000 and at
#                   10,000,000 interactions on both backends
#   make fuzz       libFuzzer (clang) on each input parser, FUZZ_TIME seconds
#                   each (default 60); what they find is kept in tests/fuzz/
#   make install    PREFIX=/usr/local DESTDIR= (and make uninstall)
#   make lint       mandoc -Tlint, cppcheck, scripts/lint-src (layers, tests)
#
# User CFLAGS are respected; warnings are appended. Dependencies come from
# pkg-config, except libcsv which ships no .pc file: CSV_CFLAGS/CSV_LIBS.

VERSION   = 0.1.0
O        ?= build
PREFIX   ?= /usr/local
BINDIR   ?= $(PREFIX)/bin
MANDIR   ?= $(PREFIX)/share/man
DATADIR  ?= $(PREFIX)/share
BASHCOMPDIR ?= $(DATADIR)/bash-completion/completions
ZSHCOMPDIR  ?= $(DATADIR)/zsh/site-functions
FISHCOMPDIR ?= $(DATADIR)/fish/vendor_completions.d
UNITDIR  ?= $(PREFIX)/lib/systemd/system

CC       ?= cc
PKG_CONFIG ?= pkg-config
CFLAGS   ?= -O2 -g
PKGS      = sqlite3 jansson libzstd xgboost libcurl libcrypto libmicrohttpd libsodium sndfile libpq
# PocketSphinx's headers are not warning-clean: included as system headers.
ASR_CFLAGS = $(shell $(PKG_CONFIG) --cflags pocketsphinx | sed 's/-I/-isystem /g')
ASR_LIBS   = $(shell $(PKG_CONFIG) --libs pocketsphinx)
CSV_CFLAGS ?=
CSV_LIBS   ?= -lcsv

WARN = -std=c17 -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes \
       -Wmissing-prototypes -Wpointer-arith -Wformat=2 -Wvla \
       -Wnull-dereference -Wundef -Wwrite-strings
ALL_CPPFLAGS = -D_GNU_SOURCE -DCRM_VERSION='"$(VERSION)"' $(CPPFLAGS)
ALL_CFLAGS = $(CFLAGS) $(WARN) -pthread $(shell $(PKG_CONFIG) --cflags $(PKGS)) $(CSV_CFLAGS)
LIBS = $(shell $(PKG_CONFIG) --libs $(PKGS)) $(CSV_LIBS) -lm -pthread

ifdef SANITIZE
ALL_CFLAGS += -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=$(SANITIZE)
endif

LIB_SRC = $(wildcard lib/*.c lib/store/*.c)
LIB_OBJ = $(LIB_SRC:%.c=$(O)/%.o) $(O)/lib/migrations.o $(O)/lib/pg-migrations.o \
          $(O)/lib/lmtext.o $(O)/lib/pagetext.o
MIGRATIONS = $(sort $(wildcard lib/sql/*.sql))
PG_MIGRATIONS = $(sort $(wildcard lib/sql/pg/*.sql))

TOOLS = crm crm-import crm-export crm-dedupe crm-score crm-explain crm-audit crm-doctor \
        crm-transcribe crm-notify crm-serve crm-events crm-key crm-forget \
        crm-purge crm-db
BINS  = $(TOOLS:%=$(O)/%)
UNIT_SRC = $(wildcard tests/unit/t-*.c)
UNIT  = $(UNIT_SRC:tests/unit/%.c=$(O)/tests/%)
FUZZ  = $(patsubst tests/fuzz/fuzz-%.c,%,$(wildcard tests/fuzz/fuzz-*.c))
REPLAY = $(FUZZ:%=$(O)/fuzz/replay-%)
FUZZ_TIME ?= 60
MAN   = $(wildcard man/*.[157])

UNITS = $(patsubst packaging/systemd/%.in,$(O)/systemd/%,$(wildcard packaging/systemd/*.in)) \
        $(O)/systemd/crm-nightly.timer

all: $(BINS) $(O)/crm-nightly

# The nightly workflow, a command like the others.
$(O)/crm-nightly: scripts/nightly.sh
	@mkdir -p $(@D)
	cp scripts/nightly.sh $@ && chmod 755 $@

# The Debian package (packaging/deb/build, dpkg-deb).
DEB = $(O)/crm_$(VERSION)-1_$(shell dpkg --print-architecture 2>/dev/null || echo amd64).deb
deb: all
	packaging/deb/build --version $(VERSION)-1 --build $(O) --out $(DEB)

# systemd units, their programs where BINDIR says.
units: $(UNITS)

$(O)/systemd/%: packaging/systemd/%.in
	@mkdir -p $(@D)
	sed 's|@BINDIR@|$(BINDIR)|g' $< >$@

$(O)/systemd/%.timer: packaging/systemd/%.timer
	@mkdir -p $(@D)
	cp $< $@

$(O)/lib/migrations.c: $(MIGRATIONS) scripts/sql2c.sh
	@mkdir -p $(@D)
	scripts/sql2c.sh $@ $(MIGRATIONS)

$(O)/%.o: %.c
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

$(O)/lib/pg-migrations.c: $(PG_MIGRATIONS) scripts/sql2c.sh
	@mkdir -p $(@D)
	scripts/sql2c.sh $@ -n crm_pg_migrations $(PG_MIGRATIONS)

$(O)/lib/pg-migrations.o: $(O)/lib/pg-migrations.c
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(O)/lib/migrations.o: $(O)/lib/migrations.c
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(O)/lib/lmtext.c: lib/lm/sales.txt scripts/txt2c.sh
	@mkdir -p $(@D)
	scripts/txt2c.sh $@ crm_lm_sales lib/lm/sales.txt

$(O)/lib/pagetext.c: lib/page/index.html scripts/txt2c.sh
	@mkdir -p $(@D)
	scripts/txt2c.sh $@ crm_page_html lib/page/index.html

$(O)/lib/pagetext.o: $(O)/lib/pagetext.c
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(O)/lib/lmtext.o: $(O)/lib/lmtext.c
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(O)/lib/asr.o: ALL_CFLAGS += $(ASR_CFLAGS)
$(O)/crm-transcribe: LIBS += $(ASR_LIBS)

$(O)/libcrm.a: $(LIB_OBJ)
	rm -f $@
	$(AR) rcs $@ $^

CLI_OBJ = $(O)/cmd/cli.o $(O)/cmd/cli-log.o $(O)/cmd/cli-io.o $(O)/cmd/cli-arg.o

$(O)/crm-%: $(O)/cmd/crm-%.o $(CLI_OBJ) $(O)/libcrm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# Subcommands in files of their own.
$(O)/crm-audit: $(O)/cmd/audit-bias.o
$(O)/crm-score: $(O)/cmd/score-model.o
$(O)/crm-dedupe: $(O)/cmd/dedupe-review.o

$(O)/crm: $(O)/cmd/crm.o $(CLI_OBJ) $(O)/libcrm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(O)/tests/t-%: $(O)/tests/unit/t-%.o $(O)/libcrm.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# The fuzz harnesses: replayed over their corpus by make check (any
# compiler), run as fuzzers by make fuzz (clang's libFuzzer).
$(O)/fuzz/replay-%: $(O)/tests/fuzz/fuzz-%.o $(O)/tests/fuzz/replay.o $(O)/libcrm.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(O)/fuzz/fuzz-%: $(O)/tests/fuzz/fuzz-%.o $(O)/libcrm.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -fsanitize=fuzzer -o $@ $^ $(LIBS)

fuzz: deps
	@$(MAKE) --no-print-directory O=build-fuzz CC=clang SANITIZE=address,undefined \
		CFLAGS='-O1 -g -fsanitize=fuzzer-no-link' $(FUZZ:%=build-fuzz/fuzz/fuzz-%)
	scripts/fuzz -t $(FUZZ_TIME) -b $(abspath build-fuzz/fuzz) $(FUZZ)

deps:
	@scripts/install-deps

PROVE ?= prove
PROVE_FLAGS ?=

# A test whose header says "# backends: sqlite postgresql" runs twice:
# on an SQLite file, then on a new PostgreSQL database (tests/cli/lib.sh;
# $CRM_TEST_PG names a server to use, else each starts its own).
PG_TESTS = $(shell grep -l '^\# backends:.*postgresql' tests/cli/*.t)

check: deps
	@$(MAKE) --no-print-directory all unit
	CRM_BUILD=$(abspath $(O)) $(PROVE) $(PROVE_FLAGS) $(UNIT) tests/cli/*.t
	CRM_BUILD=$(abspath $(O)) CRM_TEST_BACKEND=postgresql $(PROVE) $(PROVE_FLAGS) $(PG_TESTS)

unit: $(UNIT) $(REPLAY)

asan:
	$(MAKE) O=build-asan SANITIZE=address,undefined CFLAGS='-O1 -g' check

demo: deps
	@$(MAKE) --no-print-directory all
	CRM_BUILD=$(abspath $(O)) scripts/demo.sh

$(O)/bench-predict: $(O)/tests/bench/predict.o $(O)/libcrm.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

bench: deps
	@scripts/install-deps --bench
	@$(MAKE) --no-print-directory all $(O)/bench-predict
	CRM_BUILD=$(abspath $(O)) tests/bench/import.sh
	CRM_BUILD=$(abspath $(O)) tests/bench/crypt.sh
	CRM_BUILD=$(abspath $(O)) tests/bench/dedupe.sh
	CRM_BUILD=$(abspath $(O)) tests/bench/score.sh
	CRM_BUILD=$(abspath $(O)) tests/bench/pipe.sh
	CRM_BUILD=$(abspath $(O)) tests/bench/models.sh
	CRM_BUILD=$(abspath $(O)) tests/bench/transcribe.sh
	CRM_BUILD=$(abspath $(O)) tests/bench/nightly.sh
	CRM_BUILD=$(abspath $(O)) tests/bench/serve.sh
	CRM_BUILD=$(abspath $(O)) tests/bench/fleet.sh
	CRM_BUILD=$(abspath $(O)) tests/bench/e2e.sh
	CRM_BUILD=$(abspath $(O)) tests/bench/pg.sh
	CRM_BUILD=$(abspath $(O)) tests/bench/scale.sh

lint:
	mandoc -Tlint -W warning $(MAN)
	O=$(O) scripts/lint-src
	cppcheck --quiet --error-exitcode=1 --enable=warning,portability \
		--std=c11 -D_GNU_SOURCE --suppress=missingIncludeSystem lib cmd

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 \
		$(DESTDIR)$(MANDIR)/man5 $(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR) $(DESTDIR)$(FISHCOMPDIR)
	install -m 755 $(BINS) $(O)/crm-nightly $(DESTDIR)$(BINDIR)/
	mkdir -p $(DESTDIR)$(DATADIR)/crm $(DESTDIR)$(UNITDIR)
	install -m 755 scripts/ci-quality.sh $(DESTDIR)$(DATADIR)/crm/
	rm -rf $(O)/systemd && $(MAKE) --no-print-directory units BINDIR=$(BINDIR)
	install -m 644 $(UNITS) $(DESTDIR)$(UNITDIR)/
	for m in $(MAN); do \
		s=$${m##*.}; install -m 644 $$m $(DESTDIR)$(MANDIR)/man$$s/; done
	install -m 644 completions/crm.bash $(DESTDIR)$(BASHCOMPDIR)/crm
	for t in $(filter-out crm,$(TOOLS)); do \
		ln -sf crm $(DESTDIR)$(BASHCOMPDIR)/$$t; done
	install -m 644 completions/_crm $(DESTDIR)$(ZSHCOMPDIR)/_crm
	install -m 644 completions/crm.fish $(DESTDIR)$(FISHCOMPDIR)/crm.fish
	for t in $(filter-out crm,$(TOOLS)); do \
		ln -sf crm.fish $(DESTDIR)$(FISHCOMPDIR)/$$t.fish; done

uninstall:
	for t in $(TOOLS); do rm -f $(DESTDIR)$(BINDIR)/$$t \
		$(DESTDIR)$(BASHCOMPDIR)/$$t $(DESTDIR)$(FISHCOMPDIR)/$$t.fish; done
	for m in $(MAN); do s=$${m##*.}; \
		rm -f $(DESTDIR)$(MANDIR)/man$$s/$${m##*/}; done
	rm -f $(DESTDIR)$(ZSHCOMPDIR)/_crm $(DESTDIR)$(FISHCOMPDIR)/crm.fish
	rm -f $(DESTDIR)$(BINDIR)/crm-nightly $(DESTDIR)$(DATADIR)/crm/ci-quality.sh
	for u in $(notdir $(UNITS)); do rm -f $(DESTDIR)$(UNITDIR)/$$u; done
	-rmdir $(DESTDIR)$(DATADIR)/crm 2>/dev/null

clean:
	rm -rf build build-asan

.PHONY: all check unit asan demo bench lint install uninstall clean deps fuzz units deb
.SECONDARY:

-include $(shell find $(O) -name '*.d' 2>/dev/null)
