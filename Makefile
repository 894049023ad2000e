# blkxlate — build, test, demo.  Out-of-tree build in build/; `make V=1` is
# verbose.  `make demo` and `make check` install what is missing (make deps).
.DELETE_ON_ERROR:
.SUFFIXES:
.SECONDARY:

BUILD	?= build
V	?= 0
ifeq ($(V),1)
Q :=
msg = @true
else
Q := @
msg = @printf '  %-7s %s\n' $(1) $(2)
endif

CC	?= gcc
CLANG	?= clang
BPFTOOL	?= $(shell command -v /usr/sbin/bpftool || command -v bpftool || echo bpftool)
ARCH	:= $(shell uname -m | sed -e 's/x86_64/x86/' -e 's/aarch64/arm64/')
PKGS	:= libbpf json-c liburing
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   = $(shell pkg-config --libs $(PKGS) 2>/dev/null)

WARN	:= -Wall -Wextra -Werror -Wshadow -Wformat=2 -Wno-format-nonliteral \
	   -Wstrict-prototypes -Wmissing-prototypes
CFLAGS	?= -O2 -g
ALL_CFLAGS := -std=gnu11 $(WARN) $(CFLAGS) -D_GNU_SOURCE -Iinclude -Iuserspace \
	   -I$(BUILD)/bpf $(PKG_CFLAGS) -MMD -MP
LDLIBS	:= $(PKG_LIBS) -lelf -lz -lpthread
SAN	:= -fsanitize=address,undefined -fno-omit-frame-pointer \
	   -fno-sanitize-recover=all
BPF_CFLAGS := -g -O2 -target bpf -mcpu=v3 -D__TARGET_ARCH_$(ARCH) -Wall -Werror \
	   -Iinclude -I$(BUILD)/bpf -I/usr/include/$(shell uname -m)-linux-gnu \
	   -MMD -MP

BPF_SRCS  := $(wildcard bpf/*.bpf.c)
BPF_OBJS  := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.bpf.o,$(BPF_SRCS))
BPF_SKELS := $(patsubst bpf/%.bpf.c,$(BUILD)/bpf/%.skel.h,$(BPF_SRCS))

# every layer is a folder of userspace/ (docs/architecture.md); objects are
# mirrored under $(BUILD)/obj and $(BUILD)/san
US_SRCS   := $(sort $(wildcard userspace/*.c userspace/*/*.c))
US_LIB_SRCS := $(filter-out userspace/main.c,$(US_SRCS))
US_OBJS   := $(patsubst userspace/%.c,$(BUILD)/obj/%.o,$(US_SRCS))
US_LIB_OBJS := $(patsubst userspace/%.c,$(BUILD)/obj/%.o,$(US_LIB_SRCS))
US_SAN_OBJS := $(patsubst userspace/%.c,$(BUILD)/san/%.o,$(US_LIB_SRCS))

UNIT_SRCS := $(wildcard tests/unit/test_*.c)
UNIT_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))
UNIT_SAN_BINS := $(patsubst tests/unit/%.c,$(BUILD)/tests/san/%,$(UNIT_SRCS))
BPFTEST_SRCS := $(wildcard tests/bpf/test_*.c)
# BPF programs that only the tests load (their skeletons in build/tests/bpf)
TEST_BPF_SKELS := $(patsubst tests/bpf/%.bpf.c,$(BUILD)/tests/bpf/%.skel.h,\
	$(wildcard tests/bpf/*.bpf.c))
BPFTEST_BINS := $(patsubst tests/bpf/%.c,$(BUILD)/tests/%,$(BPFTEST_SRCS))

BIN	:= $(BUILD)/bin/blkxlate

.PHONY: all deps lab-deps build check unit unit-san bpf-test cli-test vm-check \
	layer-check \
	demo bench soak format format-check clean help

all: deps
	$(Q)$(MAKE) --no-print-directory build

build: $(BIN)

help:
	@echo "make          build everything into $(BUILD)/ (installs missing deps)"
	@echo "make demo     the main job: serve the demo disks and show them"
	@echo "make check    all tests: unit (+ASan/UBSan), BPF, CLI, VM lab"
	@echo "make bench    benchmarks in the VM lab (not part of check)"
	@echo "make soak     the VM suite with 10/3 recovery, 20 kill-at-every-step cycles"
	@echo "make format   clang-format every C file in place"

deps:
	$(Q)tools/deps

lab-deps:
	$(Q)tools/deps --lab

# --- BPF -------------------------------------------------------------------
$(BUILD)/bpf/%.bpf.o: bpf/%.bpf.c | $(BUILD)/bpf
	$(call msg,BPF,$@)
	$(Q)$(CLANG) $(BPF_CFLAGS) -c $< -o $@

# bpftool 7.5 records a struct_ops map's link in the skeleton (map->link),
# a field libbpf 1.4 does not have yet; we attach struct_ops ourselves with
# bpf_map__attach_struct_ops(), so that line is dropped.
$(BUILD)/bpf/%.skel.h: $(BUILD)/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf | \
		sed '/^[[:space:]]*map->link = /d' > $@

$(BUILD)/tests/bpf/%.bpf.o: tests/bpf/%.bpf.c
	$(call msg,BPF,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(BPF_CFLAGS) -Itests/bpf -c $< -o $@

$(BUILD)/tests/bpf/%.skel.h: $(BUILD)/tests/bpf/%.bpf.o
	$(call msg,SKEL,$@)
	$(Q)$(BPFTOOL) gen skeleton $< name $(subst -,_,$*)_bpf > $@

# --- userspace -------------------------------------------------------------
# the skeletons are generated before the first compile; after that the
# objects' -MMD files name the ones they include
$(BUILD)/obj/%.o: userspace/%.c | $(BPF_SKELS)
	$(call msg,CC,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) -c $< -o $@

$(BUILD)/san/%.o: userspace/%.c | $(BPF_SKELS)
	$(call msg,CC-SAN,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) -O1 -c $< -o $@

$(BUILD)/libblkxlate.a: $(US_LIB_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BUILD)/libblkxlate-san.a: $(US_SAN_OBJS)
	$(call msg,AR,$@)
	$(Q)rm -f $@ && ar rcs $@ $^

$(BIN): $(BUILD)/obj/main.o $(BUILD)/libblkxlate.a | $(BUILD)/bin
	$(call msg,LD,$@)
	$(Q)$(CC) $(CFLAGS) -o $@ $^ $(LDLIBS)

# --- tests -----------------------------------------------------------------
$(BUILD)/tests/test_%: tests/unit/test_%.c $(BUILD)/libblkxlate.a | $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit -o $@ $< $(BUILD)/libblkxlate.a \
		-lcmocka $(LDLIBS)

$(BUILD)/tests/san/test_%: tests/unit/test_%.c $(BUILD)/libblkxlate-san.a | $(BUILD)/tests/san
	$(call msg,CC-SAN,$@)
	$(Q)$(CC) $(ALL_CFLAGS) $(SAN) -O1 -Itests/unit -o $@ $< \
		$(BUILD)/libblkxlate-san.a -lcmocka $(LDLIBS)

$(BUILD)/tests/test_bpf_%: tests/bpf/test_bpf_%.c $(BUILD)/libblkxlate.a | $(TEST_BPF_SKELS) $(BUILD)/tests
	$(call msg,CC,$@)
	$(Q)$(CC) $(ALL_CFLAGS) -Itests/unit -Itests/bpf -I$(BUILD)/tests/bpf \
		-o $@ $< $(BUILD)/libblkxlate.a \
		-lcmocka $(LDLIBS)

unit: deps
	$(Q)$(MAKE) --no-print-directory $(UNIT_BINS)
	$(Q)tools/run-tests "unit" $(UNIT_BINS)

unit-san: deps
	$(Q)$(MAKE) --no-print-directory $(UNIT_SAN_BINS)
	$(Q)ASAN_OPTIONS=detect_leaks=1:abort_on_error=1 \
		UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
		tools/run-tests "unit (ASan+UBSan)" $(UNIT_SAN_BINS)

bpf-test: deps
	$(Q)$(MAKE) --no-print-directory $(BIN) $(BPFTEST_BINS)
	$(Q)BLKXLATE=$(abspath $(BIN)) tools/run-tests "bpf" $(BPFTEST_BINS)

cli-test: deps
	$(Q)$(MAKE) --no-print-directory $(BIN)
	$(Q)BLKXLATE=$(abspath $(BIN)) tests/cli/run.sh

vm-check: deps lab-deps
	$(Q)$(MAKE) --no-print-directory $(BIN)
	$(Q)tests/vm/run-suite.sh

# every suite runs even when an earlier one failed; the summary names them
CHECK_SUITES := format-check layer-check unit unit-san bpf-test cli-test vm-check
# more suites and targets, each beside its own tests (they may add to
# CHECK_SUITES)
-include $(wildcard tests/*/*.mk)
check: deps
	$(Q)failed=""; for t in $(CHECK_SUITES); do \
		echo "=== make $$t"; \
		$(MAKE) --no-print-directory $$t || failed="$$failed $$t"; \
	done; \
	if [ -n "$$failed" ]; then echo "== check: FAILED:$$failed"; exit 1; fi; \
	echo "== check: all suites passed ($(CHECK_SUITES))"

demo: deps
	$(Q)$(MAKE) --no-print-directory $(BIN)
	$(Q)tools/demo

# the long reliability run: 10 crash-recovery cycles on 7.3, 3 on 6.12,
# and 20 kill-at-every-step cycles of up and reload on each
soak: deps lab-deps
	$(Q)$(MAKE) --no-print-directory $(BIN)
	$(Q)RECOVERY_CYCLES_7_3=10 RECOVERY_CYCLES_6_12=3 \
		BLKXLATE_CRASH_CYCLES=20 BLKXLATE_RSS_RELOADS=300 \
		BLKXLATE_VM_TIMEOUT=7200 \
		tests/vm/run-suite.sh

bench: deps lab-deps
	$(Q)$(MAKE) --no-print-directory $(BIN)
	$(Q)tools/bench

FORMAT_FILES = $(shell git ls-files '*.c' '*.h' 2>/dev/null)
format:
	$(Q)clang-format -i $(FORMAT_FILES)

# the layers include only downward, no source file over 650 lines
layer-check:
	$(Q)tools/check-layers

format-check:
	$(Q)out=$$(clang-format --dry-run $(FORMAT_FILES) 2>&1); \
	if [ -n "$$out" ]; then echo "$$out" | head -40; \
	echo "format-check: run 'make format'"; exit 1; fi; \
	echo "format-check: $(words $(FORMAT_FILES)) files clean"

$(BUILD)/bpf $(BUILD)/bin $(BUILD)/tests $(BUILD)/tests/san:
	$(Q)mkdir -p $@

clean:
	rm -rf $(BUILD)

-include $(wildcard $(BUILD)/obj/*.d $(BUILD)/obj/*/*.d $(BUILD)/san/*/*.d \
	$(BUILD)/bpf/*.d $(BUILD)/tests/*.d $(BUILD)/tests/san/*.d \
	$(BUILD)/tests/bpf/*.d)
