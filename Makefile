# Gateway build, run and test. See README.md.
#   make run    install what is missing, start MariaDB + fake WeChat + gateway under var/
#   make test   the same set-up in a temporary directory, then every test
#   make unit   the C unit tests only: no database, no dependency step
#   make e2e    the end-to-end tests only (after make test's set-up once)
#   make asan   the tests against an AddressSanitizer + UBSan build
#   make console  the staff console (console/, npm) into $(BUILD)/console
#   make format-check  fails when a file of FORMAT_DIRS is not as clang-format
#                      (.clang-format) writes it; make format rewrites them
#   make stop   stop what `make run` started
#   make grant OPENID=... ROLE=admin [PROJECT=id]
#   make bench  benchmarks (bench/)
#   make dbhop  the database-hop probe: worker threads against MariaDB's non-blocking
#               API on the loop (bench/dbhop/README.md)
#   make install DESTDIR=...   the production layout (see README, "Production")
#   make test-ops  the slow operations tests (tests/ops/): reload, upgrade,
#                  backup/restore, the Debian package against Debian's MariaDB
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_DRIVERS="multipart json"]   libFuzzer drivers (tests/fuzz/)
#   make chaos  kills MariaDB and the gateway under load, then counts lost writes (tools/chaos/)

CC      ?= gcc
PKGS    := libh2o-evloop openssl libcurl libcjson libmariadb libturbojpeg libpng libsystemd
BUILD   ?= build
OPT     ?= -O2
SAN     ?=
PYTHON  := /usr/bin/python3

# Evaluated lazily: the packages are installed by the deps target first.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))
# Debian's libh2o.pc omits this; without it h2o.h assumes libuv's layout.
# Route tables are positional and may leave route_t's optional trailing
# fields out (router.h), which -Wextra would otherwise reject.
# -I.: sources name their includes from the repository root
# ("gateway/call.h", "domain/repairs/repair_state.h").
CFLAGS  += -I. -std=c11 -D_GNU_SOURCE -DH2O_USE_LIBUV=0 -Wall -Wextra -Wno-missing-field-initializers -Werror $(OPT) -g $(SAN) $(PKG_CFLAGS)
# Stricter warnings, on for every folder of C code and the tests.
STRICT_WARNINGS  := -Wshadow -Wmissing-prototypes
LDLIBS  += $(PKG_LIBS) -lm -lpthread
LDFLAGS += $(SAN)

# The code's folders: gateway/ (the server and its libraries), handlers/
# (route files, one folder per domain), domain/ (the domains' modules:
# state machines, rules, views; no routes), jobs/ (background jobs).
LIB_SRCS  := $(filter-out gateway/main.c,$(wildcard gateway/*.c handlers/*.c handlers/*/*.c domain/*/*.c jobs/*.c))
# make unit's library: the gateway and the domain modules (what unit tests
# call); the route files and the jobs are left out.
ifeq ($(UNIT_LIB),1)
LIB_SRCS  := $(filter-out gateway/main.c,$(wildcard gateway/*.c domain/*/*.c))
endif
LIB_OBJS  := $(LIB_SRCS:%.c=$(BUILD)/%.o)
UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
# Checks of the database client that need a server: run by the e2e tests.
DB_CHECK_SRCS := $(wildcard tests/db/*.c)
DB_CHECK_BINS := $(DB_CHECK_SRCS:tests/db/%.c=$(BUILD)/tests/db/%)
# Fuzz drivers (tests/fuzz/fuzz_<name>.c), each linked twice: by the normal
# build into $(BUILD)/tests/test_fuzz_<name>, which replays the seeds and the
# regression inputs in `make test` (gcc, no libFuzzer); and by `make fuzz`
# with clang and libFuzzer into $(FUZZ_BUILD)/fuzz/<name>.
FUZZ_SRCS    := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES   := $(FUZZ_SRCS:tests/fuzz/fuzz_%.c=%)
FUZZ_REPLAY_BINS := $(FUZZ_NAMES:%=$(BUILD)/tests/test_fuzz_%)
FUZZ_COMMON  := tests/fuzz/support.c tests/fuzz/fuzz.h
FUZZ_BUILD   := build-fuzz
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# seconds per driver, and which drivers `make fuzz` runs (one at a time)
FUZZ_SECONDS ?= 60
FUZZ_DRIVERS ?= $(FUZZ_NAMES)

.PHONY: all build binary deps run stop test test-ops asan unit unit-bins e2e grant bench dbhop install clean format format-check fuzz chaos console

all: build
build: $(BUILD)/bin/gateway $(UNIT_BINS) $(DB_CHECK_BINS) $(FUZZ_REPLAY_BINS)
binary: $(BUILD)/bin/gateway

deps:
	@scripts/install-deps.sh

$(BUILD)/%.o: %.c $(wildcard gateway/*.h gateway/*.def handlers/*.h handlers/*/*.h domain/*/*.h jobs/*.h)
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(CFLAGS) $(WARNINGS) -c $< -o $@

WARNINGS := $(STRICT_WARNINGS)

# Made afresh: ar would keep the members of files since moved or deleted.
$(BUILD)/libgateway.a: $(LIB_OBJS)
	@rm -f $@
	@ar rcs $@ $^

$(BUILD)/bin/gateway: $(BUILD)/gateway/main.o $(BUILD)/libgateway.a
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/db/%: tests/db/%.c $(BUILD)/libgateway.a
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CFLAGS) $(STRICT_WARNINGS) -Igateway $< $(BUILD)/libgateway.a $(LDFLAGS) $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(BUILD)/libgateway.a
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CFLAGS) $(STRICT_WARNINGS) -Igateway $< $(BUILD)/libgateway.a $(LDFLAGS) $(LDLIBS) -o $@

$(BUILD)/tests/test_fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(FUZZ_COMMON) $(BUILD)/libgateway.a
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CFLAGS) -DFUZZ_NAME='"$*"' $< tests/fuzz/replay.c tests/fuzz/support.c $(BUILD)/libgateway.a \
		$(LDFLAGS) $(LDLIBS) -o $@

# Only with CC=clang and SAN containing -fsanitize=fuzzer-no-link (make fuzz).
$(BUILD)/fuzz/%: tests/fuzz/fuzz_%.c $(FUZZ_COMMON) $(BUILD)/libgateway.a
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CFLAGS) -fsanitize=fuzzer $< tests/fuzz/support.c $(BUILD)/libgateway.a \
		$(LDFLAGS) -fsanitize=fuzzer $(LDLIBS) -o $@

# The staff console (console/): Vue + Vite from npm, built into
# $(BUILD)/console (served at /console/ by console_dir). `npm ci` runs when
# node_modules is missing or package-lock.json changed (npm writes
# node_modules/.package-lock.json on every install); the build when a source
# changed. Built files are never committed.
CONSOLE_OUT  := $(BUILD)/console
CONSOLE_SRCS := $(shell find console/src -type f 2>/dev/null) console/index.html console/vite.config.js \
                console/check-build.mjs console/package.json
console: $(CONSOLE_OUT)/index.html
console/node_modules/.package-lock.json: console/package-lock.json
	@echo "  NPM ci console/"
	@cd console && npm ci --no-audit --no-fund --loglevel=error
	@touch $@
$(CONSOLE_OUT)/index.html: console/node_modules/.package-lock.json $(CONSOLE_SRCS)
	@echo "  VITE $(CONSOLE_OUT)"
	@cd console && CONSOLE_OUT="$(abspath $(CONSOLE_OUT))" npm run --silent build

run: deps
	@$(MAKE) --no-print-directory build console
	@$(PYTHON) tools/devstack/devstack.py run --dir var --bin $(BUILD)/bin/gateway

stop:
	@$(PYTHON) tools/devstack/devstack.py stop --dir var

grant:
	@test -n "$(OPENID)" -a -n "$(ROLE)" || { echo "usage: make grant OPENID=... ROLE=admin [PROJECT=id]"; exit 2; }
	@$(BUILD)/bin/gateway --config var/gateway.conf grant --openid "$(OPENID)" --role "$(ROLE)" $(if $(PROJECT),--project $(PROJECT))

test: deps
	@$(MAKE) --no-print-directory build console
	@tests/run-all.sh $(BUILD)

# The fast loop: builds only the unit tests and what they link (UNIT_LIB),
# in parallel (one job per core unless make was given -j), at -O0 (a third
# of -O2's compile time), in a folder of their own so that no -O0 object
# reaches the gateway binary.
JOBS       ?= $(shell nproc)
PARALLEL    = $(if $(filter -j%,$(MAKEFLAGS)),,-j$(JOBS))
UNIT_BUILD ?= $(BUILD)/unit
unit:
	@$(MAKE) --no-print-directory $(PARALLEL) BUILD=$(UNIT_BUILD) OPT=-O0 UNIT_LIB=1 unit-bins
	@tests/run-unit.sh $(UNIT_BUILD)
unit-bins: $(UNIT_BINS)

e2e:
	@$(MAKE) --no-print-directory build console
	@tests/run-e2e.sh $(BUILD) $(E2E_ARGS)

asan: deps
	@$(MAKE) --no-print-directory console BUILD=build-asan
	@$(MAKE) --no-print-directory build BUILD=build-asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/run-all.sh build-asan

test-ops: deps
	@$(MAKE) --no-print-directory build console
	@tests/ops/run.sh $(BUILD)

# The production layout; the Debian package (debian/) installs the same.
# After a plain `make install` (no DESTDIR), run $(LIBDIR)/setup once as root.
NAME    := property-gateway
DESTDIR ?=
SBINDIR := /usr/sbin
LIBDIR  := /usr/lib/$(NAME)
SHARE   := /usr/share/$(NAME)
DOCDIR  := /usr/share/doc/$(NAME)
UNITDIR := /lib/systemd/system
install: binary console
	install -D -m 0755 $(BUILD)/bin/gateway $(DESTDIR)$(SBINDIR)/$(NAME)
	install -d -m 0755 $(DESTDIR)$(SHARE)/schema $(DESTDIR)$(LIBDIR) $(DESTDIR)$(DOCDIR) $(DESTDIR)$(UNITDIR)
	install -m 0644 schema/[0-9]*.sql $(DESTDIR)$(SHARE)/schema/
	install -m 0644 ops/db-users.sql $(DESTDIR)$(SHARE)/
	rm -rf $(DESTDIR)$(SHARE)/console
	cp -r $(CONSOLE_OUT) $(DESTDIR)$(SHARE)/console
	chmod -R u=rwX,go=rX $(DESTDIR)$(SHARE)/console
	install -m 0755 ops/setup ops/create-db-users ops/backup-daily $(DESTDIR)$(LIBDIR)/
	install -m 0644 ops/property-gateway.service ops/property-gateway-backup.service \
		ops/property-gateway-backup.timer $(DESTDIR)$(UNITDIR)/
	install -m 0644 ops/RUNBOOK.md ops/prometheus-rules.yml $(DESTDIR)$(DOCDIR)/
	install -d -m 0750 $(DESTDIR)/etc/$(NAME)
	@# An operator's configuration is never overwritten.
	test -e $(DESTDIR)/etc/$(NAME)/gateway.conf || install -m 0640 ops/gateway.conf $(DESTDIR)/etc/$(NAME)/gateway.conf
	test -e $(DESTDIR)/etc/$(NAME)/notification-templates.json || \
		install -m 0644 config/notification-templates.json $(DESTDIR)/etc/$(NAME)/notification-templates.json

# The folders kept in the house style (.clang-format).
FORMAT_DIRS  ?= gateway handlers handlers/identity handlers/projects handlers/repairs handlers/leads \
                handlers/notifications handlers/media handlers/ops domain/repairs domain/leads \
                domain/notifications domain/identity domain/stats domain/sla handlers/stats jobs tests/unit tests/db
FORMAT_FILES  = $(wildcard $(addsuffix /*.c,$(FORMAT_DIRS)) $(addsuffix /*.h,$(FORMAT_DIRS)))
format:
	@clang-format -i --style=file $(FORMAT_FILES)
format-check:
	@clang-format --dry-run -Werror --style=file $(FORMAT_FILES)

bench: deps
	@$(MAKE) --no-print-directory build
	@bench/run.sh $(BUILD)

# The database-hop probe: gateway/db.c and domain/repairs/repair_view.c are
# compiled into it (dbhop.c includes them), the rest of the gateway linked.
DBHOP_SRCS := $(wildcard bench/dbhop/*.c)
$(BUILD)/bench/dbhop/dbhop: $(DBHOP_SRCS) $(wildcard bench/dbhop/*.h) gateway/db.c domain/repairs/repair_view.c \
		$(BUILD)/libgateway.a
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CFLAGS) $(STRICT_WARNINGS) $(DBHOP_SRCS) $(BUILD)/libgateway.a $(LDFLAGS) $(LDLIBS) -o $@
dbhop: deps
	@$(MAKE) --no-print-directory build $(BUILD)/bench/dbhop/dbhop
	@bench/dbhop/run.sh $(BUILD)

fuzz:
	@WITH_FUZZ=1 scripts/install-deps.sh
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang OPT=-O1 \
		SAN="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" $(FUZZ_DRIVERS:%=$(FUZZ_BUILD)/fuzz/%)
	@tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_DRIVERS)

chaos: deps
	@$(MAKE) --no-print-directory build
	@$(PYTHON) tools/chaos/chaos.py --bin $(BUILD)/bin/gateway

clean:
	rm -rf build build-asan build-deb $(FUZZ_BUILD)
