# kbreed - one Makefile. Products go under build/.
#
#   make              build/kbreed and build/kbreed-worker
#   make test         everything that needs no GPU (CI runs this)
#   make test-gpu     the GPU checks (on a machine with an NVIDIA GPU)
#
# Knobs: CUDA_HOME (default /usr/local/cuda), DEVELOPER=1 (warnings are
# errors), PYTHON (interpreter with torch for the bridge tests), local
# overrides in config.mak.
-include config.mak

CC ?= gcc
CUDA_HOME ?= /usr/local/cuda
PYTHON ?= $(shell command -v /usr/bin/python3 || command -v python3)
BUILD := build

CFLAGS ?= -O2 -g
CFLAGS += -std=c11 -Wall -Wextra -Wshadow -Wno-unused-parameter -D_FILE_OFFSET_BITS=64
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

# Pipeline order: problem -> (propose -> realize) -> compile -> evaluate -> (store) -> report.
LIB_SRC := src/log.c src/util.c src/proc.c src/home.c src/problem.c src/bridge.c \
	src/template.c src/propose.c src/realize.c src/store.c src/search.c \
	src/codec.c src/compile.c src/compare.c src/evaluate.c src/report.c
LIB_OBJ := $(LIB_SRC:src/%.c=$(BUILD)/obj/%.o)

WORKER_CFLAGS := $(CFLAGS) -I$(CUDA_HOME)/include
WORKER_LIBS := -L$(CUDA_HOME)/lib64 -lcudart_static -ldl -lpthread -lrt

UNIT_TESTS := test_util test_compare test_proc test_codec test_compile test_bridge test_evaluate \
	test_store test_playbook test_search
UNIT_BIN := $(UNIT_TESTS:%=$(BUILD)/tests/%)

all: $(BUILD)/kbreed $(BUILD)/kbreed-worker

$(BUILD)/obj/%.o: src/%.c $(wildcard src/*.h) include/kbreed_candidate.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(BUILD)/libkbreed.a: $(LIB_OBJ)
	ar rcs $@ $^

$(BUILD)/kbreed: $(BUILD)/obj/main.o $(BUILD)/libkbreed.a
	$(CC) $(CFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/kbreed-worker: worker/worker.c include/kbreed_candidate.h
	@mkdir -p $(BUILD)
	$(CC) $(WORKER_CFLAGS) -o $@ $< $(WORKER_LIBS)

$(BUILD)/tests/fake_worker: tests/unit/fake_worker.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -o $@ $<

$(BUILD)/tests/%: tests/unit/%.c $(BUILD)/libkbreed.a tests/unit/testing.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Isrc -o $@ $< $(BUILD)/libkbreed.a -lcmocka -ldl -lsqlite3 $(LIBS)

test: all $(UNIT_BIN) $(BUILD)/tests/fake_worker
	@PYTHON="$(PYTHON)" sh tests/run_tests.sh $(UNIT_BIN)

test-gpu: all
	@sh tests/gpu/run.sh

clean:
	rm -rf $(BUILD)

.PHONY: all test test-gpu clean
