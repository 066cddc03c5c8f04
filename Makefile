# Artistry — two commands on a fresh Debian 12 machine:
#   make up     install what is missing, build, pull the default models, start every service
#   make test   install what is missing, build (plain and ASan/UBSan), run the whole suite
# Both are idempotent: when nothing changed they only check and return.

BUILD ?= build
ASAN  ?= build-asan
FUZZ  ?= build-fuzz
ARTISTRY := ./$(BUILD)/artistry
comma := ,

# The shared test data (photos, models, recorded answers) sits beside the checkout; a clone
# made elsewhere (CI, a temporary directory) finds it at the workplace's fixed place. Tests
# and benchmarks read ARTISTRY_SHARED; none of it is ever copied into the repository.
ARTISTRY_SHARED ?= $(abspath $(firstword $(wildcard $(CURDIR)/../shared /work/shared)))
export ARTISTRY_SHARED

.PHONY: up test deps test-deps build asan fuzz fuzz-smoke unit clean format help

help:
	@sed -n '2,5p' Makefile

up: deps build
	@$(ARTISTRY) models pull || echo "make up: some default models could not be had;" \
		"their services start anyway and answer 503 saying how to get them"
	$(ARTISTRY) up

test: test-deps build asan fuzz
	meson test -C $(BUILD) --print-errorlogs --num-processes 2
	meson test -C $(ASAN) --print-errorlogs --num-processes 2 --no-suite slow
	fuzz/smoke.sh $(FUZZ)

deps:
	@deploy/install-deps.sh

test-deps:
	@deploy/install-deps.sh --test

build: $(BUILD)/build.ninja
	@ninja -C $(BUILD)

asan: $(ASAN)/build.ninja
	@ninja -C $(ASAN)

fuzz: $(FUZZ)/build.ninja
	@ninja -C $(FUZZ)

fuzz-smoke: fuzz
	fuzz/smoke.sh $(FUZZ)

# A module folder appearing is not something Meson watches (the top-level meson.build
# looks for them), so a new src/*/meson.build or tests/*/meson.build reconfigures.
MESON_FILES := meson.build meson_options.txt $(wildcard src/*/meson.build tests/*/meson.build)
setup = if [ -f $(1)/build.ninja ]; then meson setup --reconfigure $(1) >/dev/null; \
	else $(2) meson setup $(1) $(3); fi

$(BUILD)/build.ninja: $(MESON_FILES)
	@$(call setup,$(BUILD),,--buildtype=debugoptimized)

$(ASAN)/build.ninja: $(MESON_FILES)
	@$(call setup,$(ASAN),,--buildtype=debug -Dsanitize=address$(comma)undefined)

$(FUZZ)/build.ninja: $(MESON_FILES)
	@$(call setup,$(FUZZ),CC=clang,--buildtype=debugoptimized -Dfuzz=true)

format:
	clang-format -i $$(git ls-files '*.c' '*.h')

clean:
	rm -rf $(BUILD) $(ASAN) $(FUZZ)
