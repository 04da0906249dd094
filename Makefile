# The two commands a new user needs: `make run` and `make test` (README.md).
BUILD_DIR ?= build
BUILD_TYPE ?= Release
SANITIZE ?= OFF
JOBS ?= $(shell nproc)
LAKE ?= $(CURDIR)/lake

.PHONY: all setup build run test unit integration bench bench-setup bench-smoke clean

all: build

setup:
	@scripts/setup

$(BUILD_DIR)/build.ninja:
	cmake -S . -B $(BUILD_DIR) -G Ninja -DCMAKE_BUILD_TYPE=$(BUILD_TYPE) -DFINLAKE_SANITIZE=$(SANITIZE)

build: setup $(BUILD_DIR)/build.ninja
	cmake --build $(BUILD_DIR) -j $(JOBS)

# The main job on an embedded lake: create it, load synthetic daily bars, query them.
run: build
	$(BUILD_DIR)/finlake --lake $(LAKE) demo

# Every test: unit (GoogleTest, sanitizers on) and integration/interop (pytest).
# One build type for the tests: optimised, with assertions, ASan and UBSan.
test:
	@scripts/timed setup scripts/setup --test
	@scripts/timed build $(MAKE) --no-print-directory build BUILD_DIR=build-test BUILD_TYPE=RelWithDebInfo SANITIZE=ON
	@scripts/timed unit $(MAKE) --no-print-directory unit BUILD_DIR=build-test
	@scripts/timed integration $(MAKE) --no-print-directory integration BUILD_DIR=build-test
	@scripts/timed bench-smoke $(MAKE) --no-print-directory bench-smoke BUILD_DIR=build-test

# The benchmarks at smoke size, to keep them working; figures from a sanitizer
# build mean nothing, so CI only checks that they run. `make bench` measures.
bench-smoke:
	cmake --build $(BUILD_DIR) --target finlake_bench -j $(JOBS)
	FINLAKE_BIN=$(CURDIR)/$(BUILD_DIR)/finlake .venv/bin/python bench/run.py --size smoke --repeats 1 --out $(CURDIR)/$(BUILD_DIR)/bench-smoke
	FINLAKE_BIN=$(CURDIR)/$(BUILD_DIR)/finlake .venv/bin/python bench/run.py --size smoke --repeats 1 --only sql \
	  --sql-parquet-version v2 --sql-sort-by-size quotes=256KB --out $(CURDIR)/$(BUILD_DIR)/bench-smoke-tuned

unit:
	cd $(BUILD_DIR) && ctest --output-on-failure -j $(JOBS) --timeout 600

integration:
	FINLAKE_BIN=$(CURDIR)/$(BUILD_DIR)/finlake .venv/bin/python -m pytest -q tests/integration

bench-setup:
	@scripts/setup --bench

bench: bench-setup build
	cmake --build $(BUILD_DIR) --target finlake_bench -j $(JOBS)
	FINLAKE_BIN=$(CURDIR)/$(BUILD_DIR)/finlake .venv/bin/python bench/run.py $(BENCH_ARGS)

clean:
	rm -rf build build-test
