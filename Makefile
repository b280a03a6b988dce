# moonshark — build, test, run. `make help` lists the targets.
#   make            engine library + the moonshark command (build/)
#   make SAN=1 ...  the same with ASan + UBSan (build-san/)
#   make test       unit suites, sanitizer suites, end-to-end tests
#   make run        HTTP request log of the bundled sample capture

CC      ?= cc
PKGS    := libpcap lua5.4
DEPS_PKGS := libpcap-dev liblua5.4-dev libcmocka-dev pkg-config

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

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
CMOCKA_LIBS := $(shell pkg-config --libs cmocka 2>/dev/null)

WARN    := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter
CFLAGS  ?= $(OPT) -g
ALL_CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE $(WARN) $(CFLAGS) $(SANFLAGS) \
              -Iengine -I. $(PKG_CFLAGS)
LDLIBS  := $(PKG_LIBS) -lm -pthread
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

.SECONDARY:
.PHONY: all deps check-deps run test unit e2e san-unit tsan bench fuzz clean help lint tools
all: check-deps $(BIN) tools

help:
	@sed -n '1,6p' Makefile | sed 's/^# \{0,1\}//'

# ---- dependencies -------------------------------------------------------
deps:
	@sh .ci/deps.sh $(DEPS_PKGS)

check-deps:
	@pkg-config --exists $(PKGS) cmocka 2>/dev/null || sh .ci/deps.sh $(DEPS_PKGS)

# ---- build ----------------------------------------------------------------
$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -MMD -MP -c $< -o $@

$(EMBED_C): $(EMBED_LUA) tools/embed_lua.sh
	@mkdir -p $(dir $@)
	sh tools/embed_lua.sh $(EMBED_LUA) > $@

$(EMBED_OBJ): $(EMBED_C)
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

# ---- tests ----------------------------------------------------------------
$(BUILD)/tests/%: $(BUILD)/tests/%.o $(TEST_HELPER_OBJ) $(LIB)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CMOCKA_LIBS)

unit: check-deps $(TEST_BIN)
	@sh tests/run_unit.sh $(TEST_BIN)

e2e: check-deps $(BIN) tools
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
