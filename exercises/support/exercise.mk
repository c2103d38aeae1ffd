# exercise.mk — the build of one graded exercise, included by its Makefile:
#
#   EVLAB_ROOT ?= ../..
#   PROGRAM     = echo_server      # server exercises: built from PROGRAM_SRCS
#   MODULE_SRCS =                  # module exercises: student .c files linked into the tests
#   include $(EVLAB_ROOT)/exercises/support/exercise.mk
#
# Builds into build/: the program (if PROGRAM is set), build/tests from
# tests/*.c, and build/tests_kept from kept_tests/*.c when that folder
# exists (the grader puts tests kept from students there).  Student code is
# compiled with warnings shown but not fatal; everything links the
# toolkit's libevlab.a so probe/probe.h, net/net.h, loop/loop.h, ... work.
#
#   make          build everything
#   make test     grade this exercise (evlab grade NN --dir ..)
#   make run      start your server on a free port (watch it: evlab view)
#   make clean

EVLAB_ROOT   ?= ../..
override EVLAB_ROOT := $(abspath $(EVLAB_ROOT))
PROGRAM      ?=
MODULE_SRCS  ?=
# The program's sources: every .c file at the top of the exercise folder
# that is not a module source.
PROGRAM_SRCS ?= $(filter-out $(MODULE_SRCS),$(wildcard *.c))
TEST_SRCS    ?= $(wildcard tests/*.c)
KEPT_SRCS    ?= $(wildcard kept_tests/*.c)

SUPPORT_DIR  := $(EVLAB_ROOT)/exercises/support
LIBEVLAB     := $(EVLAB_ROOT)/build/release/libevlab.a
SUPPORT_SRCS := $(wildcard $(SUPPORT_DIR)/grade_*.c)

CC           ?= cc
EX_CFLAGS    := -std=c11 -D_GNU_SOURCE -Wall -Wextra -g -O1 -pthread \
                -I$(EVLAB_ROOT)/lib -I$(SUPPORT_DIR) -I. -MMD -MP
EX_LDLIBS    := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka) -lm -lrt -pthread
# The exercise number: the first two characters of this folder's name.
EXERCISE_NN  := $(shell basename "$(CURDIR)" | cut -c1-2)

BUILD        := build
SUPPORT_OBJS := $(patsubst $(SUPPORT_DIR)/%.c,$(BUILD)/obj/support/%.o,$(SUPPORT_SRCS))
PROGRAM_OBJS := $(patsubst %.c,$(BUILD)/obj/program/%.o,$(PROGRAM_SRCS))
MODULE_OBJS  := $(patsubst %.c,$(BUILD)/obj/module/%.o,$(MODULE_SRCS))
TEST_OBJS    := $(patsubst %.c,$(BUILD)/obj/%.o,$(TEST_SRCS))
KEPT_OBJS    := $(patsubst %.c,$(BUILD)/obj/%.o,$(KEPT_SRCS))

TARGETS := $(if $(PROGRAM),$(BUILD)/$(PROGRAM)) $(BUILD)/tests $(if $(KEPT_SRCS),$(BUILD)/tests_kept)

.PHONY: all test run clean
.DEFAULT_GOAL := all

all: $(TARGETS)

$(LIBEVLAB):
	@echo "build the toolkit first: make -C $(EVLAB_ROOT)" >&2; exit 1

# The support library learns the program's name at compile time, so
# grade_server_start() knows what to run.
$(BUILD)/obj/support/%.o: $(SUPPORT_DIR)/%.c
	@mkdir -p $(dir $@)
	$(CC) $(EX_CFLAGS) -DGRADE_PROGRAM='"$(PROGRAM)"' -c $< -o $@

$(BUILD)/obj/program/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(EX_CFLAGS) -c $< -o $@

$(BUILD)/obj/module/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(EX_CFLAGS) -c $< -o $@

$(BUILD)/obj/tests/%.o: tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(EX_CFLAGS) -c $< -o $@

$(BUILD)/obj/kept_tests/%.o: kept_tests/%.c
	@mkdir -p $(dir $@)
	$(CC) $(EX_CFLAGS) -c $< -o $@

ifneq ($(PROGRAM),)
$(BUILD)/$(PROGRAM): $(PROGRAM_OBJS) $(LIBEVLAB)
	$(CC) -o $@ $(PROGRAM_OBJS) $(LIBEVLAB) $(EX_LDLIBS)
endif

$(BUILD)/tests: $(TEST_OBJS) $(MODULE_OBJS) $(SUPPORT_OBJS) $(LIBEVLAB)
	$(CC) -o $@ $(TEST_OBJS) $(MODULE_OBJS) $(SUPPORT_OBJS) $(LIBEVLAB) $(EX_LDLIBS)

$(BUILD)/tests_kept: $(KEPT_OBJS) $(MODULE_OBJS) $(SUPPORT_OBJS) $(LIBEVLAB)
	$(CC) -o $@ $(KEPT_OBJS) $(MODULE_OBJS) $(SUPPORT_OBJS) $(LIBEVLAB) $(EX_LDLIBS)

test:
	$(EVLAB_ROOT)/evlab grade $(EXERCISE_NN) --dir "$(abspath ..)"

run: $(if $(PROGRAM),$(BUILD)/$(PROGRAM))
	@if [ -z "$(PROGRAM)" ]; then echo "this exercise is a module: make test runs its tests" >&2; exit 1; fi
	./$(BUILD)/$(PROGRAM) --port 0

clean:
	rm -rf $(BUILD)

-include $(wildcard $(BUILD)/obj/*/*.d)
