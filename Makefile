# kbreed - one Makefile. Products go under build/.
#
#   make              build/kbreed and build/kbreed-worker
#   make test         everything that needs no GPU
#   make test-asan    the same tests again, built into build-asan/ with
#                     AddressSanitizer and UndefinedBehaviorSanitizer
#   make check        test, then test-asan (CI runs this)
#   make test-gpu     the GPU checks (on a machine with an NVIDIA GPU)
#   make fuzz         the libFuzzer harnesses of tests/fuzz/, FUZZ_SECONDS each
#   make install      PREFIX/bin/kbreed, PREFIX/libexec/kbreed/kbreed-worker and
#                     kbreed's files in PREFIX/share/kbreed (PREFIX=/usr/local;
#                     DESTDIR for staging); make uninstall removes them
#
# Knobs: CUDA_HOME (default /usr/local/cuda), DEVELOPER=1 (warnings are
# errors), PYTHON (interpreter with torch for the bridge tests), NO_CURL=1
# (no libcurl: the LLM proposer's HTTP providers are off), SANITIZE=1 (the
# sanitized build under build-asan/; `make SANITIZE=1 test` is test-asan),
# UNIT_TESTS="test_store ..." and SHELL_TESTS="tests/cli/test_show.sh ..."
# (test and test-asan run only those), local overrides in config.mak.
-include config.mak

CC ?= gcc
CUDA_HOME ?= /usr/local/cuda
PYTHON ?= $(shell command -v /usr/bin/python3 || command -v python3)
CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -Wall -Wextra -Wshadow -Wno-unused-parameter -D_FILE_OFFSET_BITS=64

# SANITIZE=1: every product is built with ASan and UBSan into its own
# directory, so the plain build/ is left alone. Any report aborts the process
# (no recovery), so a finding fails the test that met it.
ifeq ($(SANITIZE),1)
BUILD := build-asan
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
CFLAGS += $(SAN_FLAGS)
# For the processes the tests start, whose reports tests/run_tests.sh collects
# from SANITIZER_LOGS. kbreed's children (the fake worker) get a clean
# environment: they run with the defaults (leaks checked, a report ends the
# process with status 1) and report on the stderr kbreed keeps. Elsewhere a
# report ends its process with status 86.
SAN_ENV := ASAN_OPTIONS=detect_leaks=1:strict_string_checks=1:check_initialization_order=1:exitcode=86 \
	UBSAN_OPTIONS=print_stacktrace=1:exitcode=86 LSAN_OPTIONS=suppressions=$(CURDIR)/tests/lsan.supp \
	SANITIZER_LOGS=$(CURDIR)/$(BUILD)/sanitizer-logs
else
BUILD := build
endif
ifeq ($(DEVELOPER),1)
CFLAGS += -Werror
endif

# jansson is linked statically when its archive is there, so that the binary
# runs on machines that have only the runtime libraries we need.
JANSSON_A := $(firstword $(wildcard /usr/lib/x86_64-linux-gnu/libjansson.a /usr/lib/libjansson.a /usr/local/lib/libjansson.a))
ifneq ($(JANSSON_A),)
JANSSON_LIBS := $(JANSSON_A)
else
JANSSON_LIBS := -ljansson
endif
LIBS := $(JANSSON_LIBS) -lsqlite3 -lpthread -lm

# libcurl carries the LLM proposer's requests (src/http.c, its only user).
# Detected and announced; NO_CURL=1 forces it off, and src/http.c then
# answers every request with "kbreed was built without libcurl".
ifneq ($(NO_CURL),1)
ifneq ($(wildcard /usr/include/x86_64-linux-gnu/curl/curl.h /usr/include/curl/curl.h),)
HAVE_CURL := 1
CURL_LIBS := -lcurl
else ifneq ($(shell pkg-config --exists libcurl 2>/dev/null && echo y),)
HAVE_CURL := 1
CURL_CFLAGS := $(shell pkg-config --cflags libcurl)
CURL_LIBS := $(shell pkg-config --libs libcurl)
endif
endif
ifeq ($(HAVE_CURL),1)
$(info + libcurl)
HTTP_CFLAGS := $(CURL_CFLAGS)
LIBS += $(CURL_LIBS)
else
$(info - libcurl: LLM proposer disabled)
HTTP_CFLAGS := -DKBREED_NO_CURL
endif
# http.o is rebuilt when the choice changes.
HTTP_STAMP := $(BUILD)/obj/http.flags
$(shell mkdir -p $(BUILD)/obj && { echo '$(HTTP_CFLAGS)' | cmp -s - $(HTTP_STAMP) || echo '$(HTTP_CFLAGS)' >$(HTTP_STAMP); })

# Pipeline order: problem -> (propose [http, llm] -> realize) -> compile -> evaluate -> (store) -> report, show.
# JSON is encoded beside the structs it encodes: only src/bridge_json.c,
# src/llm_json.c, src/llm_propose.c, src/propose.c, src/report.c,
# src/show.c and src/json_text.c (text as a JSON string, shared by report,
# show and llm_json) include jansson.h.
LIB_SRC := src/log.c src/util.c src/proc.c src/sandbox.c src/home.c src/dtype.c src/problem.c src/graph.c src/recognize.c src/views.c src/pointwise.c src/generate.c src/bridge.c src/bridge_json.c src/refbudget.c \
	src/template.c src/http.c src/llm.c src/llm_json.c src/llm_propose.c src/propose.c src/realize.c \
	src/store.c src/judge.c src/population.c src/proposer_playbook.c src/proposer_llm.c src/proposer_generated.c src/search.c src/slurm.c src/export.c src/report_html.c src/show.c \
	src/compile.c src/compile_group.c src/policy.c src/linkcheck.c src/compare.c src/worker_client.c src/verdict.c src/evaluate.c src/report.c src/json_text.c
# The worker protocol's encoders and decoders, shared by kbreed, the GPU
# worker and the fake worker (include/kbreed_worker_protocol.h).
PROTO_SRC := worker/worker_protocol.c
PROTO_H := include/kbreed_worker_protocol.h include/kbreed_candidate.h
LIB_OBJ := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o) $(BUILD)/obj/worker_protocol.o

WORKER_CFLAGS := $(CFLAGS) -I$(CUDA_HOME)/include
WORKER_LIBS := -L$(CUDA_HOME)/lib64 -lcudart_static -ldl -lpthread -lrt -lm
# The comparer's kernels (worker/compare_gpu.cu), compiled by nvcc for the
# architectures in COMPARE_ARCH, with PTX for later ones; no GPU is needed to
# build them. -fmad=false: the tolerance test rounds as the host's does;
# no exceptions nor guarded statics, so the C link needs no libstdc++.
NVCC ?= $(CUDA_HOME)/bin/nvcc
COMPARE_ARCH ?= -gencode arch=compute_80,code=sm_80 -gencode arch=compute_90,code=sm_90 \
	-gencode arch=compute_90,code=compute_90
WORKER_SRC := worker/worker.c worker/comparer.c $(PROTO_SRC)
WORKER_H := worker/worker.h worker/compare_gpu.h $(PROTO_H)

UNIT_TESTS := test_util test_compare test_proc test_sandbox test_compile test_bridge_json test_graph test_bridge test_refbudget test_evaluate \
	test_store test_playbook test_search test_policy test_linkcheck test_llm test_llm_propose test_report test_generate
UNIT_BIN := $(UNIT_TESTS:%=$(BUILD)/tests/%)

all: $(BUILD)/kbreed $(BUILD)/kbreed-worker

$(BUILD)/obj/%.o: src/%.c $(wildcard src/*.h) $(PROTO_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/worker_protocol.o: $(PROTO_SRC) $(PROTO_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/obj/http.o: CFLAGS += $(HTTP_CFLAGS)
$(BUILD)/obj/http.o: $(HTTP_STAMP)

$(BUILD)/libkbreed.a: $(LIB_OBJ)
	ar rcs $@ $^

$(BUILD)/kbreed: $(BUILD)/obj/main.o $(BUILD)/libkbreed.a
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/obj/compare_gpu.o: worker/compare_gpu.cu worker/compare_gpu.h $(PROTO_H)
	@mkdir -p $(dir $@)
	$(NVCC) -O2 -fmad=false -Xcompiler -fno-exceptions,-fno-threadsafe-statics $(COMPARE_ARCH) -c $< -o $@

$(BUILD)/kbreed-worker: $(WORKER_SRC) $(WORKER_H) $(BUILD)/obj/compare_gpu.o
	@mkdir -p $(BUILD)
	$(CC) $(WORKER_CFLAGS) -o $@ $(WORKER_SRC) $(BUILD)/obj/compare_gpu.o $(WORKER_LIBS)

# The fake comparer compares host copies with kbreed's own rule (src/compare.c).
$(BUILD)/tests/fake_worker: tests/unit/fake_worker.c $(PROTO_SRC) $(PROTO_H) src/compare.c src/compare.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc -o $@ tests/unit/fake_worker.c $(PROTO_SRC) src/compare.c -lpthread -lm

# The fake nvcc the tests compile with (tests/cli/fake_nvcc.sh runs it): one
# plain copy in build/ for both builds, since a sanitized one would start
# slower than the compiles it stands for; the empty shared object it copies
# beside it.
build/tests/fake_nvcc: tests/cli/fake_nvcc.c build/tests/fake_nvcc_empty.so
	@mkdir -p $(dir $@)
	cc -O2 -g -std=c11 -Wall -Wextra -o $@ $<

build/tests/fake_nvcc_empty.so:
	@mkdir -p $(dir $@)
	echo 'int kbreed_fake_nvcc_marker;' | cc -shared -fPIC -x c - -o $@

$(BUILD)/tests/llm_server: tests/unit/llm_server.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $<

# Whether a compiled candidate takes its problem's shapes (no GPU needed).
$(BUILD)/tests/shape_probe: tests/unit/shape_probe.c include/kbreed_candidate.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $< -ldl

# The unit tests find their helpers (fake worker, loopback server) in the
# build they belong to.
$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libkbreed.a tests/unit/testing.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DTEST_BUILD='"$(BUILD)"' -Isrc -o $@ $< $(BUILD)/libkbreed.a -lcmocka -ldl -lsqlite3 $(LIBS)

# The source scans are built with AddressSanitizer in their tests: a candidate's
# text must never make them read past its end.
ASAN_FLAGS := -fsanitize=address -fno-omit-frame-pointer
$(BUILD)/tests/test_policy: tests/unit/test_policy.c src/policy.c src/policy.h $(BUILD)/libkbreed.a tests/unit/testing.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(ASAN_FLAGS) -Isrc -o $@ $< src/policy.c $(BUILD)/libkbreed.a -lcmocka -ldl -lsqlite3 $(LIBS)

# The kernels the unit tests compile (templates at their knob extremes, a
# search's candidates) are kept in one nvcc cache for both builds, so that
# test-asan does not run nvcc again on what test compiled (tests/unit/testing.h);
# the bridge's descriptions of the problems the shell tests write (level 1
# scaled down) likewise, so that test-asan does not run Python on them again.
test: all $(UNIT_BIN) $(BUILD)/tests/fake_worker $(BUILD)/tests/llm_server $(BUILD)/tests/shape_probe build/tests/fake_nvcc
	@$(SAN_ENV) PYTHON="$(PYTHON)" KBREED_BUILD="$(BUILD)" KBREED_TEST_NVCC_CACHE=$(CURDIR)/build/test-nvcc-cache \
		KBREED_TEST_DESCRIBE_CACHE=$(CURDIR)/build/test-describe-cache \
		sh tests/run_tests.sh $(UNIT_BIN)

test-asan:
	@$(MAKE) --no-print-directory SANITIZE=1 test

check: test
	@$(MAKE) --no-print-directory test-asan

test-gpu: all
	@sh tests/gpu/run.sh

# The parsers of outside input under libFuzzer (tests/fuzz/). The library is
# built again with clang and the sanitizers into build-fuzz/; each harness
# runs FUZZ_SECONDS (default 60) from its seeds in tests/fuzz/corpus/NAME
# (the template and policy harnesses also from the shipped templates and
# kernels themselves, rather than copies of them),
# writing what it finds to build-fuzz/corpus/NAME (new inputs) and
# build-fuzz/crash/ (failures), with tests/fuzz/NAME.dict as its dictionary
# where there is one. FUZZ_CC picks the compiler, FUZZ=NAME one harness,
# FUZZ_ARGS adds libFuzzer options.
FUZZ_CC ?= clang
FUZZ_SECONDS ?= 60
FUZZ_BUILD := build-fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -O1 -g -std=c11 -Wall -Wextra -Wno-unused-parameter -D_FILE_OFFSET_BITS=64 $(FUZZ_SAN)
FUZZ_NAMES := bridge_json llm_json llm_ideas llm_source catalog template policy linkcheck compile_group
FUZZ ?= $(FUZZ_NAMES)
FUZZ_OBJ := $(LIB_SRC:src/%.c=$(FUZZ_BUILD)/obj/%.o)
FUZZ_BIN := $(FUZZ_NAMES:%=$(FUZZ_BUILD)/fuzz_%)

$(FUZZ_BUILD)/obj/%.o: src/%.c $(wildcard src/*.h) include/kbreed_candidate.h
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c $< -o $@

$(FUZZ_BUILD)/obj/http.o: FUZZ_CFLAGS += $(HTTP_CFLAGS)
$(FUZZ_BUILD)/obj/http.o: $(HTTP_STAMP)

$(FUZZ_BUILD)/libkbreed.a: $(FUZZ_OBJ)
	ar rcs $@ $^

$(FUZZ_BUILD)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_BUILD)/libkbreed.a
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer -Isrc -o $@ $< $(FUZZ_BUILD)/libkbreed.a -Wl,--as-needed $(LIBS)

fuzz-build: $(FUZZ_BIN)

# One target per harness, so that `make -jN fuzz` runs N at once (.ci/run
# gives it a job per core): the same FUZZ_SECONDS each, in less wall time.
fuzz: $(FUZZ:%=fuzz-run-%)

fuzz-run-%: $(FUZZ_BUILD)/fuzz_%
	@n=$*; mkdir -p $(FUZZ_BUILD)/corpus/$$n $(FUZZ_BUILD)/crash; \
	case $$n in llm_ideas|llm_source) dict=llm_reply ;; *) dict=$$n ;; esac; \
	case $$n in template) seeds="$(filter-out templates/common,$(wildcard templates/*))" ;; \
	policy) seeds="kernels/naive kernels/hacks" ;; compile_group) seeds="kernels/naive kernels/bad kernels/hacks" ;; *) seeds= ;; esac; \
	dict=tests/fuzz/$$dict.dict; [ -f $$dict ] && dict=-dict=$$dict || dict=; \
	$(FUZZ_BUILD)/fuzz_$$n -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 $$dict \
		-artifact_prefix=$(FUZZ_BUILD)/crash/$$n- $(FUZZ_ARGS) \
		$(FUZZ_BUILD)/corpus/$$n tests/fuzz/corpus/$$n $$seeds 2>$(FUZZ_BUILD)/fuzz_$$n.log \
		|| { echo "fuzz_$$n: FAILED"; tail -n 60 $(FUZZ_BUILD)/fuzz_$$n.log; exit 1; }; \
	echo "fuzz_$$n: $(FUZZ_SECONDS) s, $$(grep -E '^stat::number_of_executed_units' $(FUZZ_BUILD)/fuzz_$$n.log | sed 's/.*: *//') inputs"

# An installed kbreed finds its files in ../share/kbreed beside its binary
# (src/home.c), its worker in ../libexec/kbreed. The directories copied are
# the ones kbreed reads at run time, with the docs the winners point to and
# the worker's source (to rebuild the worker on a GPU host); Python's
# caches are left behind.
PREFIX ?= /usr/local
INSTALL_DIR := $(DESTDIR)$(PREFIX)
SHARE_DIRS := bridge docs export include kernels playbook problems prompts templates worker

install: all
	install -d "$(INSTALL_DIR)/bin" "$(INSTALL_DIR)/libexec/kbreed" "$(INSTALL_DIR)/share/kbreed"
	install -m 755 $(BUILD)/kbreed "$(INSTALL_DIR)/bin/kbreed"
	install -m 755 $(BUILD)/kbreed-worker "$(INSTALL_DIR)/libexec/kbreed/kbreed-worker"
	@set -e; for d in $(SHARE_DIRS); do \
		rm -rf "$(INSTALL_DIR)/share/kbreed/$$d"; \
		find $$d -name __pycache__ -prune -o -type f ! -name '*.pyc' -print | while read -r f; do \
			install -D -m 644 "$$f" "$(INSTALL_DIR)/share/kbreed/$$f"; \
		done; \
	done
	@echo "installed: $(INSTALL_DIR)/bin/kbreed (files in $(INSTALL_DIR)/share/kbreed)"

uninstall:
	rm -f "$(INSTALL_DIR)/bin/kbreed"
	rm -rf "$(INSTALL_DIR)/libexec/kbreed" "$(INSTALL_DIR)/share/kbreed"

clean:
	rm -rf build build-asan $(FUZZ_BUILD)

.PHONY: all test test-asan check test-gpu clean fuzz fuzz-build install uninstall
