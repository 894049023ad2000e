# libFuzzer targets (clang, ASan + UBSan): included by the top Makefile.
#
#   make fuzz-build    build/fuzz/fuzz_settings and build/fuzz/fuzz_remap
#   make fuzz          run each for FUZZ_SECONDS (default 60); new inputs go
#                      to build/fuzz/new/<target>, crashes to
#                      build/fuzz/artifacts/<target>/; fails on any crash
#   make fuzz-merge    add the new inputs that add coverage to the corpus
#   make fuzz-replay   every committed corpus input once (part of make check)
#
# FUZZ_TARGETS=remap (or settings) limits fuzz and fuzz-merge to one target.
#
# The userspace sources are compiled again here with clang and coverage
# instrumentation: the gcc objects of build/obj carry none.

CHECK_SUITES += fuzz-replay

FUZZ_DIR     := $(BUILD)/fuzz
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= settings remap
FUZZ_BINS    := $(patsubst %,$(FUZZ_DIR)/fuzz_%,$(FUZZ_TARGETS))
FUZZ_SAN     := -fsanitize=address,undefined -fno-sanitize-recover=all \
		-fno-omit-frame-pointer
FUZZ_CFLAGS  := -std=gnu11 $(WARN) -O1 -g -D_GNU_SOURCE -Iinclude \
		-Iuserspace -MMD -MP $(FUZZ_SAN)
# the settings parser and what it calls (base/); json-c from the system
FUZZ_SETTINGS_OBJS := $(patsubst userspace/%.c,$(FUZZ_DIR)/obj/%.o,\
	$(wildcard userspace/config/*.c)) $(FUZZ_DIR)/obj/base/guid.o $(FUZZ_DIR)/obj/base/error.o \
	$(FUZZ_DIR)/obj/base/utf8.o
FUZZ_JSONC_LIBS = $(shell pkg-config --libs json-c 2>/dev/null || echo -ljson-c)
# the largest input: settings corpus files stay under 8 KiB
FUZZ_MAX_LEN_settings := 8000
FUZZ_MAX_LEN_remap    := 512
FUZZ_OPTS_settings := -dict=tests/fuzz/settings.dict
FUZZ_MERGE_OPTS_settings := -use_counters=0
FUZZ_ENV := UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
	    ASAN_OPTIONS=abort_on_error=1

# (fuzz-run-% and fuzz-merge-% are pattern rules: make skips those for
# .PHONY targets)
.PHONY: fuzz fuzz-build fuzz-replay fuzz-merge

fuzz-build: deps
	$(Q)$(MAKE) --no-print-directory $(FUZZ_BINS)

$(FUZZ_DIR)/obj/%.o: userspace/%.c | $(FUZZ_DIR)
	$(call msg,CC-FUZZ,$@)
	$(Q)mkdir -p $(@D)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_DIR)/fuzz_settings: tests/fuzz/fuzz_settings.c $(FUZZ_SETTINGS_OBJS) | $(FUZZ_DIR)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
		$(FUZZ_SETTINGS_OBJS) $(FUZZ_JSONC_LIBS)

$(FUZZ_DIR)/fuzz_remap: tests/fuzz/fuzz_remap.c | $(FUZZ_DIR)
	$(call msg,FUZZ,$@)
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $<

$(FUZZ_DIR):
	$(Q)mkdir -p $@

# One timed run of target $(1): new units into a scratch dir first (the
# committed corpus, second, is only read), then its final stats in one line.
define FUZZ_RUN
	t=$(1); bin=$(FUZZ_DIR)/fuzz_$$t; log=$(FUZZ_DIR)/$$t.log; \
	art=$(FUZZ_DIR)/artifacts/$$t/; mkdir -p $(FUZZ_DIR)/new/$$t $$art; \
	echo "  FUZZ    $$t for $(FUZZ_SECONDS) s (log: $$log)"; \
	$(FUZZ_ENV) $$bin -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
		-max_len=$(FUZZ_MAX_LEN_$(1)) -timeout=10 -rss_limit_mb=2048 \
		-artifact_prefix=$$art $(FUZZ_OPTS_$(1)) \
		$(FUZZ_DIR)/new/$$t tests/fuzz/corpus/$$t >$$log 2>&1; rc=$$?; \
	execs=$$(sed -n 's/^stat::number_of_executed_units: *//p' $$log); \
	rate=$$(sed -n 's/^stat::average_exec_per_sec: *//p' $$log); \
	last=$$(grep -E '^#[0-9]+.*cov: ' $$log | tail -n 1); \
	cov=$$(echo "$$last" | sed -n 's/.*cov: \([0-9]*\).*/\1/p'); \
	ft=$$(echo "$$last" | sed -n 's/.* ft: \([0-9]*\).*/\1/p'); \
	corp=$$(echo "$$last" | sed -n 's/.* corp: \([0-9]*\).*/\1/p'); \
	if [ $$rc -eq 0 ]; then crashes=0; else crashes=1; fi; \
	echo "== fuzz $$t: $${execs:-?} executions, $${rate:-?} exec/s, cov $${cov:-?}, ft $${ft:-?}, corpus $${corp:-?}, $$crashes crashes"; \
	if [ $$rc -ne 0 ]; then tail -n 40 $$log; \
		echo "fuzz $$t: crash (exit $$rc); reproducer in $$art"; exit 1; fi
endef

# every target runs, even after another one crashed
fuzz: fuzz-build
	$(Q)failed=0; for t in $(FUZZ_TARGETS); do \
		$(MAKE) --no-print-directory fuzz-run-$$t || failed=1; \
	done; exit $$failed

fuzz-run-%:
	$(Q)$(call FUZZ_RUN,$*)

# Only the new units that add coverage over the committed corpus are added
# (a greedy set cover; for settings over edges only, not hit counts, which
# keeps its corpus under 300 files).
define FUZZ_MERGE
	t=$(1); mkdir -p $(FUZZ_DIR)/new/$$t; \
	before=$$(ls tests/fuzz/corpus/$$t | wc -l); \
	$(FUZZ_DIR)/fuzz_$$t -set_cover_merge=1 $(FUZZ_MERGE_OPTS_$(1)) \
		-max_len=$(FUZZ_MAX_LEN_$(1)) \
		tests/fuzz/corpus/$$t $(FUZZ_DIR)/new/$$t \
		>$(FUZZ_DIR)/$$t-merge.log 2>&1 || \
		{ tail -n 20 $(FUZZ_DIR)/$$t-merge.log; exit 1; }; \
	echo "== fuzz-merge $$t: $$before -> $$(ls tests/fuzz/corpus/$$t | wc -l) inputs"
endef

fuzz-merge: fuzz-build
	$(Q)for t in $(FUZZ_TARGETS); do \
		$(MAKE) --no-print-directory fuzz-merge-$$t || exit 1; \
	done

fuzz-merge-%:
	$(Q)$(call FUZZ_MERGE,$*)

# Every committed input once (-runs=0: load the corpus, do not mutate);
# nothing is written into the corpus.
fuzz-replay: fuzz-build
	$(Q)start=$$(date +%s%N); crashes=0; summary=""; \
	for t in $(FUZZ_TARGETS); do \
		log=$(FUZZ_DIR)/$$t-replay.log; art=$(FUZZ_DIR)/artifacts/$$t/; \
		mkdir -p $$art; \
		n=$$(ls tests/fuzz/corpus/$$t | wc -l); \
		fixed=$$(ls tests/fuzz/crashes/$$t-* 2>/dev/null); \
		n=$$((n + $$(echo "$$fixed" | grep -c .))); \
		if ! $(FUZZ_ENV) $(FUZZ_DIR)/fuzz_$$t -runs=0 \
			-artifact_prefix=$$art tests/fuzz/corpus/$$t \
			>$$log 2>&1 || { [ -z "$$fixed" ] || \
			! $(FUZZ_ENV) $(FUZZ_DIR)/fuzz_$$t $$fixed >>$$log 2>&1; }; then \
			tail -n 40 $$log; crashes=$$((crashes + 1)); \
			echo "fuzz-replay $$t: crash; reproducer in $$art"; \
		fi; \
		summary="$$summary$${summary:+, }$$t $$n inputs"; \
	done; \
	echo "== fuzz-replay: $$summary, $$crashes crashes ($$(( ($$(date +%s%N) - start) / 1000000 )) ms)"; \
	[ $$crashes -eq 0 ]

-include $(wildcard $(FUZZ_DIR)/*.d $(FUZZ_DIR)/obj/*/*.d)
