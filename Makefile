# mien — the two commands of the README, and a few more.
#   make run        set-up, build, then the service: `mien serve` on http://127.0.0.1:8080/
#                   (store ./mien.db; on first start it prints a new admin key, once)
#   make test       set-up, build, the whole test suite
#   make test-asan  the suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench      bench/models.sh: mien vs ONNX Runtime, model by model
BUILD ?= build
JOBS ?= $(shell nproc)
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: all setup build run test test-asan bench clean

all: build

setup:
	@scripts/setup

build: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)

run: build
	$(BUILD)/mien models
	$(BUILD)/mien serve --listen 127.0.0.1:8080 --store sqlite:./mien.db --bootstrap-admin

test: build
	@cd $(BUILD) && ctest --output-on-failure

test-asan: setup
	@cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DMIEN_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD)-asan -j$(JOBS)
	@cd $(BUILD)-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure

bench: build
	@bench/models.sh
	@bench/pipeline.sh

clean:
	rm -rf $(BUILD) $(BUILD)-asan
