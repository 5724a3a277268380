# Gateway build, run and test. See README.md.
#   make run    install what is missing, start MariaDB + fake WeChat + gateway under var/
#   make test   the same set-up in a temporary directory, then every test
#   make asan   the tests against an AddressSanitizer + UBSan build
#   make stop   stop what `make run` started
#   make grant OPENID=... ROLE=admin [PROJECT=id]
#   make bench  benchmarks (bench/)

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

.PHONY: all build deps run stop test asan unit e2e grant bench clean

all: build
build: $(BUILD)/bin/gateway $(UNIT_BINS) $(DB_CHECK_BINS)

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

clean:
	rm -rf build build-asan
