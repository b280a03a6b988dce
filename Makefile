# moonshark — build, test, run. `make help` lists the targets.
#   make            engine library + the moonshark command (build/)
#   make SAN=1 ...  the same with ASan + UBSan (build-san/)
#   make test       unit suites, sanitizer suites, end-to-end tests
#   make run        HTTP request log of the bundled sample capture
#   make install    PREFIX=/usr/local DESTDIR=: bin, man page, protocols, library, headers, .pc
#   make uninstall  removes what make install put there

CC      ?= cc
PKGS    := libpcap lua5.4 libmagic zlib
DEPS_PKGS := libpcap-dev liblua5.4-dev libcmocka-dev pkg-config libmagic-dev zlib1g-dev

ifeq ($(TSAN),1)
BUILD   ?= build-tsan
SANFLAGS := -fsanitize=thread -fno-omit-frame-pointer
OPT     := -O1
else ifeq ($(SAN),1)
BUILD   ?= build-san
SANFLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
OPT     := -O1
else
BUILD   ?= build
SANFLAGS :=
OPT     ?= -O2
endif

# pkg-config runs when a recipe first needs the flags, never while this file is parsed: on a fresh
# machine the packages appear only when check-deps (an order-only prerequisite of every compile)
# has installed them. Each is memoised on first use (the `= $(eval X := ...)$(X)` idiom); keep
# every variable built from them recursive (`=`), or `make run` breaks again on a fresh machine
# (.ci/run proves it by removing packages first).
PKG_CFLAGS  = $(eval PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null))$(PKG_CFLAGS)
PKG_LIBS    = $(eval PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null))$(PKG_LIBS)
CMOCKA_LIBS = $(eval CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null))$(CMOCKA_LIBS)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CFLAGS  ?= $(OPT) -g
ALL_CFLAGS = -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) \
              -Iengine -I. $(PKG_CFLAGS)
LDLIBS  = $(PKG_LIBS) -lm -pthread
LDFLAGS += $(SANFLAGS)

# The engine's stages and the Lua bridge go into one static library; engine/cli/ is the command.
LIB_SRC := $(sort $(wildcard engine/*/*.c engine/decode/layers/*.c lua/*.c))
LIB_SRC := $(filter-out engine/cli/%,$(LIB_SRC))
LIB_OBJ := $(LIB_SRC:%.c=$(BUILD)/%.o)
CLI_SRC := $(sort $(wildcard engine/cli/*.c))
CLI_OBJ := $(CLI_SRC:%.c=$(BUILD)/%.o)
LIB     := $(BUILD)/libmoonshark.a
BIN     := $(BUILD)/moonshark

# Lua files compiled into the binary, so the command runs from anywhere.
EMBED_LUA := $(sort $(wildcard lua/*.lua protocols/*.lua))
EMBED_C   := $(BUILD)/gen/embedded_lua.c
EMBED_OBJ := $(BUILD)/gen/embedded_lua.o

TEST_SRC  := $(sort $(wildcard tests/test_*.c))
TEST_BIN  := $(TEST_SRC:tests/%.c=$(BUILD)/tests/%)
TEST_HELPERS := $(sort $(wildcard tests/helpers/*.c))
TEST_HELPER_OBJ := $(TEST_HELPERS:%.c=$(BUILD)/%.o)

# make install: where things go (GNU names; DESTDIR= stages into a tree, e.g. for a package).
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBDIR     ?= $(PREFIX)/lib
INCLUDEDIR ?= $(PREFIX)/include
DATADIR    ?= $(PREFIX)/share
MANDIR     ?= $(DATADIR)/man
VERSION    := $(shell sed -n 's/^\#define MS_VERSION "\(.*\)"/\1/p' engine/cli/cli.h)
# The embedding API: what a C program includes to drive the engine (capture → decode → tcp →
# dispatch → the Lua parsers). Each one's own includes are in the list; they install under
# include/moonshark/ in the source tree's shape (engine/X/Y.h → X/Y.h, lua/ms_lua.h → lua/ms_lua.h),
# since they include each other by folder ("capture/frame.h"). Internal headers (decode/layers,
# tcp_internal, the Lua bridge's own) stay out. tests/e2e/install.sh compiles each one alone.
PUBLIC_HEADERS := engine/common/common.h engine/capture/frame.h engine/capture/source.h \
                  engine/decode/packet.h engine/decode/decode.h engine/flow/flow.h engine/tcp/tcp.h \
                  engine/output/output.h engine/dispatch/parser.h engine/dispatch/dispatch.h lua/ms_lua.h
MAN     := $(BUILD)/moonshark.1

.SECONDARY:
.PHONY: all deps check-deps run test unit e2e san-unit tsan bench fuzz clean help lint tools man install uninstall oracles
all: check-deps $(BIN) tools

help:
	@sed -n '1,7p' Makefile | sed 's/^# \{0,1\}//'

# ---- dependencies -------------------------------------------------------
deps:
	@sh .ci/deps.sh $(DEPS_PKGS)

# An order-only prerequisite of every compile, so with -j the packages are in before any compiler runs.
check-deps:
	@pkg-config --exists $(PKGS) cmocka 2>/dev/null || { sh .ci/deps.sh $(DEPS_PKGS) && \
	    pkg-config --exists $(PKGS) cmocka; } || \
	    { echo "moonshark: pkg-config still finds no $(PKGS) cmocka after installing $(DEPS_PKGS)" >&2; exit 1; }

# ---- build ----------------------------------------------------------------
$(BUILD)/%.o: %.c | check-deps
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(EMBED_C): $(EMBED_LUA) tools/embed_lua.sh
	@mkdir -p $(dir $@)
	sh tools/embed_lua.sh $(EMBED_LUA) > $@

$(EMBED_OBJ): $(EMBED_C) | check-deps
	$(CC) $(ALL_CFLAGS) -Wno-missing-prototypes -c $< -o $@

$(LIB): $(LIB_OBJ) $(EMBED_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(BIN): $(CLI_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Small helper programs (capture generator, benchmark floor) built from tools/*.c.
TOOL_SRC := $(sort $(wildcard tools/*.c))
TOOL_BIN := $(TOOL_SRC:tools/%.c=$(BUILD)/tools/%)
tools: $(TOOL_BIN)
$(BUILD)/tools/%: $(BUILD)/tools/%.o $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# ---- install ----------------------------------------------------------------
# The man page is made from the binary's --help texts (tools/gen_man.sh), so the two cannot drift.
man: $(MAN)
$(MAN): $(BIN) tools/gen_man.sh
	sh tools/gen_man.sh $(BIN) > $@.tmp && mv $@.tmp $@

# moonshark.pc is written here, with this run's PREFIX/LIBDIR/INCLUDEDIR. Only a static library is
# installed, so its packages are Requires, not Requires.private: a plain `pkg-config --libs
# moonshark` must name -lpcap and -llua5.4 for the link to succeed.
install: all $(MAN)
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(LIBDIR)/pkgconfig \
	    $(DESTDIR)$(DATADIR)/moonshark/protocols
	install -m 755 $(BIN) $(DESTDIR)$(BINDIR)/moonshark
	install -m 644 $(MAN) $(DESTDIR)$(MANDIR)/man1/moonshark.1
	install -m 644 $(sort $(wildcard protocols/*.lua)) $(DESTDIR)$(DATADIR)/moonshark/protocols/
	install -m 644 $(LIB) $(DESTDIR)$(LIBDIR)/libmoonshark.a
	printf '%s\n' 'prefix=$(PREFIX)' 'libdir=$(LIBDIR)' 'includedir=$(INCLUDEDIR)' '' 'Name: moonshark' \
	    'Description: packet-analysis engine: capture, decode, TCP reassembly, Lua 5.4 parsers' \
	    'Version: $(VERSION)' 'Requires: $(PKGS)' 'Libs: -L$${libdir} -lmoonshark -lm' \
	    'Cflags: -I$${includedir}/moonshark -I$${includedir}' > $(DESTDIR)$(LIBDIR)/pkgconfig/moonshark.pc
	for h in $(PUBLIC_HEADERS); do \
	    install -D -m 644 $$h $(DESTDIR)$(INCLUDEDIR)/moonshark/$${h#engine/} || exit 1; done

uninstall:
	rm -f $(DESTDIR)$(BINDIR)/moonshark $(DESTDIR)$(MANDIR)/man1/moonshark.1 \
	    $(DESTDIR)$(LIBDIR)/libmoonshark.a $(DESTDIR)$(LIBDIR)/pkgconfig/moonshark.pc
	rm -rf $(DESTDIR)$(DATADIR)/moonshark $(DESTDIR)$(INCLUDEDIR)/moonshark

# ---- tests ----------------------------------------------------------------
# The libhtp oracle (tests/oracles/htp_streams.c) is built only where libhtp-dev is installed;
# without it tests/e2e/http_libhtp.sh skips with a message.
HTP_LIBS := $(shell pkg-config --libs htp 2>/dev/null)
ORACLE_BIN := $(if $(HTP_LIBS),$(BUILD)/tests/oracles/htp_streams)
oracles: $(ORACLE_BIN)
$(BUILD)/tests/oracles/htp_streams: tests/oracles/htp_streams.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 -D_DEFAULT_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) $(shell pkg-config --cflags htp) $< -o $@ \
	    $(LDFLAGS) $(HTP_LIBS) $(shell pkg-config --libs zlib)

$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TEST_HELPER_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CMOCKA_LIBS)

unit: check-deps $(TEST_BIN)
	@sh tests/run_unit.sh $(TEST_BIN)

e2e: check-deps $(BIN) tools oracles
	@sh tests/run_e2e.sh $(BIN)

san-unit: check-deps
	@$(MAKE) --no-print-directory SAN=1 unit

test: check-deps
	@$(MAKE) --no-print-directory unit
	@$(MAKE) --no-print-directory san-unit
	@$(MAKE) --no-print-directory e2e
	@$(MAKE) --no-print-directory tsan

# The threaded path (--threads) under ThreadSanitizer: the identical-records test on captures made
# here and on the first batch of ../shared/pcaps, with a TSan build in build-tsan/.
tsan: check-deps
	@$(MAKE) --no-print-directory TSAN=1 build-tsan/moonshark build-tsan/tools/gen_capture
	@TSAN_OPTIONS="halt_on_error=1 exitcode=66" MOONSHARK=$(CURDIR)/build-tsan/moonshark \
	    BUILD_DIR=$(CURDIR)/build-tsan TSAN_BATCHES=1 sh tests/e2e/threads_identical.sh

run: check-deps $(BIN)
	$(BIN) http samples/http-loopback.pcap

bench: check-deps $(BIN) tools
	@sh bench/run.sh $(BIN)

fuzz: check-deps
	@sh tests/fuzz/run.sh

lint:
	python3 tools/check_layout.py
	cppcheck --quiet --inline-suppr --error-exitcode=1 --enable=warning,performance,portability --std=c11 \
	    --suppress=missingIncludeSystem -Iengine -I. engine lua

clean:
	rm -rf build build-san build-tsan build-fuzz

-include $(LIB_OBJ:.o=.d) $(CLI_OBJ:.o=.d) $(TEST_BIN:=.d) $(TOOL_BIN:=.d) $(TEST_HELPER_OBJ:.o=.d) $(EMBED_OBJ:.o=.d)
