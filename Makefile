# mien — the two commands of the README, and a few more.
#   make run        set-up, build, then the service: `mien serve` on http://127.0.0.1:8080/
#                   (store ./mien.db; on first start it prints a new admin key, once)
#   make test       set-up, build, the whole test suite
#   make test-isa ISA=avx2
#                   set-up, build, the whole suite with MIEN_MAX_ISA=avx2 exported: mien's
#                   kernels and oneDNN capped, as on a CPU with AVX2 only. ISA="avx2 avx512"
#                   runs it once per level; levels c, sse41, avx2, avx512, avx512_bf16,
#                   native. A level this CPU lacks prints "test-isa: SKIPPED: ..." and
#                   passes (scripts/test-isa; CTEST_ARGS="-R unit" narrows it)
#   make test-asan  the suite under AddressSanitizer + UndefinedBehaviorSanitizer
#   make bench      bench/models.sh: mien vs ONNX Runtime, model by model
#   make install [PREFIX=/usr/local] [DESTDIR=]
#                   the binary, libmien.so.0/.a, mien.h, mien.pc, the models and the web page
#                   (PREFIX/share/mien), the man pages, the systemd unit (docs/deploy.md)
#   make deb        the Debian packages mien and mien-models into $(BUILD)/deb/
#                   (scripts/make-deb, dpkg-deb)
#   make test-deb   make deb, then both installed with apt into a fresh Debian 12 root
#                   (debootstrapped once, cached) and `mien detect` run there from /tmp
#                   (tests/install/test_deb.sh; needs root)
BUILD ?= build
JOBS ?= $(shell nproc)
ISA ?= avx2
PREFIX ?= /usr/local
DESTDIR ?=
export OMP_WAIT_POLICY ?= PASSIVE

.PHONY: all setup build run test test-isa test-asan bench install deb test-deb clean

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

test-isa: build
	@scripts/test-isa $(BUILD) $(ISA)

test-asan: setup
	@cmake -S . -B $(BUILD)-asan -DCMAKE_BUILD_TYPE=Debug -DMIEN_SANITIZE=ON >/dev/null
	@cmake --build $(BUILD)-asan -j$(JOBS)
	@cd $(BUILD)-asan && ASAN_OPTIONS=detect_leaks=1 ctest --output-on-failure

bench: build
	@bench/models.sh
	@bench/pipeline.sh

# The prefix is compiled in (the installed models' and web page's folders, src/cli/paths.c.in):
# a new one recompiles one file.
install: setup
	@cmake -S . -B $(BUILD) -DCMAKE_BUILD_TYPE=Release -DCMAKE_INSTALL_PREFIX=$(PREFIX) >/dev/null
	@cmake --build $(BUILD) -j$(JOBS)
	@DESTDIR=$(DESTDIR) cmake --install $(BUILD)

deb: setup
	@scripts/make-deb $(BUILD) $(JOBS)

test-deb: deb
	@tests/install/test_deb.sh $(BUILD)/deb

clean:
	rm -rf $(BUILD) $(BUILD)-asan
