# evlab — one program, one library, one test suite.
#
#   make            build ./evlab (checks dependencies first)
#   make test       build and run every test (each under a time limit)
#   make demo       the live side-by-side demo
#   make deps       install missing build/test dependencies (apt-get)
#   make check-asan the test suite under AddressSanitizer + UBSan
#   make check-tsan the threaded tests under ThreadSanitizer
#   make PROBES=0   build with the instrumentation compiled out
#   make fuzz       the request parser under libFuzzer for FUZZ_S seconds
#   make soak       every model under load and hostile clients for SOAK_S s
#   make bench-core the server core's costs, side by side with nginx
#
# Every variant builds into its own folder under build/, so a sanitizer
# build never mixes objects with a normal one.

SAN    ?=
PROBES ?= 1
CC     ?= cc

VARIANT := $(if $(SAN),$(SAN),release)$(if $(filter 0,$(PROBES)),-noprobes,)
OUT     := build/$(VARIANT)

# Assertions stay on in every build: they are the invariants students read.
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wshadow \
               -Wstrict-prototypes -Wmissing-prototypes -Wno-unused-parameter \
               -Ilib -Iviz -Icli -MMD -MP -g -pthread
ifeq ($(SAN),asan)
  CFLAGS_SAN := -O1 -fsanitize=address,undefined -fno-omit-frame-pointer \
                -fno-sanitize-recover=undefined
else ifeq ($(SAN),tsan)
  CFLAGS_SAN := -O1 -fsanitize=thread -fno-omit-frame-pointer
else
  CFLAGS_SAN := -O2
endif
ifeq ($(PROBES),0)
  CFLAGS_SAN += -DEVLAB_NO_PROBES
endif

CFLAGS  += $(CFLAGS_BASE) $(CFLAGS_SAN)
LDFLAGS += $(filter -fsanitize=%,$(CFLAGS_SAN)) -pthread
NCURSES_LIBS := $(shell pkg-config --libs ncursesw 2>/dev/null || echo -lncursesw)
CMOCKA_LIBS  := $(shell pkg-config --libs cmocka 2>/dev/null || echo -lcmocka)
LDLIBS  += $(NCURSES_LIBS) -lm -lrt

# Sources are found by folder: lib/ is everything but the terminal UI,
# viz/ is the ncurses front end, cli/ is the evlab program's subcommands.
LIB_SRCS  := $(sort $(wildcard lib/*/*.c))
VIZ_SRCS  := $(sort $(wildcard viz/*.c))
CLI_SRCS  := $(sort $(wildcard cli/*.c))
TEST_SRCS := $(sort $(wildcard tests/unit/test_*.c tests/integration/test_*.c))
TEST_SUPPORT_SRCS := $(sort $(wildcard tests/support/*.c))

LIB_OBJS  := $(LIB_SRCS:%.c=$(OUT)/%.o)
VIZ_OBJS  := $(VIZ_SRCS:%.c=$(OUT)/%.o)
CLI_OBJS  := $(CLI_SRCS:%.c=$(OUT)/%.o)
TEST_SUPPORT_OBJS := $(TEST_SUPPORT_SRCS:%.c=$(OUT)/%.o)
TEST_BINS := $(patsubst %.c,$(OUT)/%,$(TEST_SRCS))

LIB_A := $(OUT)/libevlab.a
VIZ_A := $(OUT)/libevlabviz.a
EVLAB := $(OUT)/evlab

.PHONY: all test demo deps check-deps check-asan check-tsan bench clean tests-build \
        fuzz soak bench-core check-fuzz-deps bench-tools

# Benchmark-only programs: one file each in bench/ (bench/minimal_server.c
# is the floor the loop is measured against; bench/probe_cost.c times the
# probe calls of one request).  They may use the library, nothing else.
BENCH_SRCS := $(sort $(wildcard bench/*.c))
BENCH_BINS := $(patsubst %.c,$(OUT)/%,$(BENCH_SRCS))

# Keep every object make builds on the way (tests/support/*.o would
# otherwise count as intermediate and be deleted, relinking every test).
.SECONDARY:

all: check-deps $(EVLAB)
	@ln -sf $(EVLAB) evlab

$(OUT)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

$(LIB_A): $(LIB_OBJS)
	@rm -f $@
	ar rcs $@ $^

$(VIZ_A): $(VIZ_OBJS)
	@rm -f $@
	ar rcs $@ $^ $(if $(VIZ_OBJS),,)

$(EVLAB): $(CLI_OBJS) $(VIZ_A) $(LIB_A)
	$(CC) $(LDFLAGS) -o $@ $(CLI_OBJS) $(VIZ_A) $(LIB_A) $(LDLIBS)

$(OUT)/tests/%: tests/%.c $(TEST_SUPPORT_OBJS) $(VIZ_A) $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Itests $(LDFLAGS) -o $@ $< $(TEST_SUPPORT_OBJS) $(VIZ_A) $(LIB_A) \
	    $(CMOCKA_LIBS) $(LDLIBS)

$(OUT)/bench/%: bench/%.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(LDFLAGS) -o $@ $< $(LIB_A) $(LDLIBS)

bench-tools: $(BENCH_BINS)

tests-build: check-deps $(EVLAB) $(TEST_BINS)

# TESTS=name,name runs only those; the runner puts each test binary under
# a time limit and prints "N passed, N failed" at the end.
test: tests-build
	@EVLAB_BIN=$(abspath $(EVLAB)) tests/run_tests.sh $(OUT)/tests $(TESTS)

# The thread-per-connection model, the worker pool and the instrumentation
# rings are the code with real data races to find.
TSAN_TESTS ?= test_histogram,test_probe,test_loop,test_worker_pool,test_server_models,test_teaching_points,test_hostile_clients,test_load_run

check-asan:
	$(MAKE) SAN=asan test

check-tsan:
	$(MAKE) SAN=tsan test TESTS=$(TSAN_TESTS)

demo: all
	./evlab demo

bench: all
	./evlab bench

# The parser's libFuzzer target (tests/fuzz/fuzz_http_parser.c) needs
# clang.  It starts from the committed seeds in tests/fuzz/corpus/ and
# keeps what it finds in build/fuzz/corpus/, so the repository stays small;
# any crash, leak or sanitizer report fails the target.
FUZZ_S ?= 60
FUZZ_SRCS := lib/http/http_parser.c lib/http/routes.c lib/http/http_response.c \
             lib/common/buffer.c
FUZZ_BIN := build/fuzz/fuzz_http_parser

check-fuzz-deps:
	@scripts/deps.sh check fuzz

$(FUZZ_BIN): tests/fuzz/fuzz_http_parser.c $(FUZZ_SRCS) | check-fuzz-deps
	@mkdir -p $(dir $@)
	clang -g -O1 -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter -Ilib \
	    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
	    tests/fuzz/fuzz_http_parser.c $(FUZZ_SRCS) -o $@

fuzz: check-fuzz-deps $(FUZZ_BIN)
	@mkdir -p build/fuzz/corpus
	$(FUZZ_BIN) -max_total_time=$(FUZZ_S) -max_len=10000 -print_final_stats=1 \
	    -artifact_prefix=build/fuzz/ build/fuzz/corpus tests/fuzz/corpus

# Every model at once under a mixed load and hostile clients (scripts/soak.py).
SOAK_S ?= 600
soak: all
	python3 scripts/soak.py --seconds $(SOAK_S) --evlab $(EVLAB)

# The server core's costs per model, nginx beside them when installed
# (scripts/bench_core.py; about five minutes).  strace is installed when
# it can be; without it the syscall column says n/a.
bench-core: all bench-tools
	-@scripts/deps.sh check bench-core
	python3 scripts/bench_core.py --evlab $(EVLAB)

deps:
	@scripts/deps.sh install

check-deps:
	@scripts/deps.sh check

clean:
	rm -rf build evlab

-include $(LIB_OBJS:.o=.d) $(VIZ_OBJS:.o=.d) $(CLI_OBJS:.o=.d) $(TEST_SUPPORT_OBJS:.o=.d) $(TEST_BINS:=.d)
