# Gateway build, run and test. See README.md.
#   make run    install what is missing, start MariaDB + fake WeChat + gateway under var/
#   make test   the same set-up in a temporary directory, then every test
#   make asan   the tests against an AddressSanitizer + UBSan build
#   make stop   stop what `make run` started
#   make grant OPENID=... ROLE=admin [PROJECT=id]
#   make bench  benchmarks (bench/)
#   make fuzz [FUZZ_SECONDS=60] [FUZZ_DRIVERS="multipart json"]   libFuzzer drivers (tests/fuzz/)
#   make chaos  kills MariaDB and the gateway under load, then counts lost writes (tools/chaos/)

CC      ?= gcc
PKGS    := libh2o-evloop openssl libcurl libcjson libmariadb libturbojpeg libpng
BUILD   ?= build
OPT     ?= -O2
SAN     ?=
PYTHON  := /usr/bin/python3

# Evaluated lazily: the packages are installed by the deps target first.
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS))
PKG_LIBS   = $(shell pkg-config --libs $(PKGS))
# Debian's libh2o.pc omits this; without it h2o.h assumes libuv's layout.
CFLAGS  += -std=c11 -D_GNU_SOURCE -DH2O_USE_LIBUV=0 -Wall -Wextra -Werror $(OPT) -g $(SAN) $(PKG_CFLAGS)
LDLIBS  += $(PKG_LIBS) -lm -lpthread
LDFLAGS += $(SAN)

LIB_SRCS  := $(filter-out gateway/main.c,$(wildcard gateway/*.c handlers/*.c))
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

.PHONY: all build deps run stop test asan unit e2e grant bench fuzz chaos clean

all: build
build: $(BUILD)/bin/gateway $(UNIT_BINS) $(DB_CHECK_BINS) $(FUZZ_REPLAY_BINS)

deps:
	@scripts/install-deps.sh

$(BUILD)/%.o: %.c $(wildcard gateway/*.h handlers/*.h gateway/*.def)
	@mkdir -p $(dir $@)
	@echo "  CC $<"
	@$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libgateway.a: $(LIB_OBJS)
	@ar rcs $@ $^

$(BUILD)/bin/gateway: $(BUILD)/gateway/main.o $(BUILD)/libgateway.a
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(BUILD)/tests/db/%: tests/db/%.c $(BUILD)/libgateway.a
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CFLAGS) -Igateway $< $(BUILD)/libgateway.a $(LDFLAGS) $(LDLIBS) -o $@

$(BUILD)/tests/%: tests/unit/%.c $(wildcard tests/unit/*.h) $(BUILD)/libgateway.a
	@mkdir -p $(dir $@)
	@echo "  LD $@"
	@$(CC) $(CFLAGS) -Igateway $< $(BUILD)/libgateway.a $(LDFLAGS) $(LDLIBS) -o $@

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

run: deps
	@$(MAKE) --no-print-directory build
	@$(PYTHON) tools/devstack/devstack.py run --dir var --bin $(BUILD)/bin/gateway

stop:
	@$(PYTHON) tools/devstack/devstack.py stop --dir var

grant:
	@test -n "$(OPENID)" -a -n "$(ROLE)" || { echo "usage: make grant OPENID=... ROLE=admin [PROJECT=id]"; exit 2; }
	@$(BUILD)/bin/gateway --config var/gateway.conf grant --openid "$(OPENID)" --role "$(ROLE)" $(if $(PROJECT),--project $(PROJECT))

test: deps
	@$(MAKE) --no-print-directory build
	@tests/run-all.sh $(BUILD)

asan: deps
	@$(MAKE) --no-print-directory build BUILD=build-asan OPT=-O1 SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined"
	@ASAN_OPTIONS=detect_leaks=1:abort_on_error=0 UBSAN_OPTIONS=print_stacktrace=1 \
		tests/run-all.sh build-asan

bench: deps
	@$(MAKE) --no-print-directory build
	@bench/run.sh $(BUILD)

fuzz:
	@WITH_FUZZ=1 scripts/install-deps.sh
	@$(MAKE) --no-print-directory BUILD=$(FUZZ_BUILD) CC=clang OPT=-O1 \
		SAN="-fsanitize=fuzzer-no-link $(FUZZ_SAN)" $(FUZZ_DRIVERS:%=$(FUZZ_BUILD)/fuzz/%)
	@tests/fuzz/run.sh $(FUZZ_BUILD) $(FUZZ_SECONDS) $(FUZZ_DRIVERS)

chaos: deps
	@$(MAKE) --no-print-directory build
	@$(PYTHON) tools/chaos/chaos.py --bin $(BUILD)/bin/gateway

clean:
	rm -rf build build-asan $(FUZZ_BUILD)
