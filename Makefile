# The two commands of the README: `make reproduce` (the main job) and `make test`.
# Both install what is missing first (Debian packages; the Python venv for figures).
RESULTS ?= results/reproduce
BIN := .build/release/fortganguli

.PHONY: deps build test reproduce reproduce-full figures bench clean

deps:
	@scripts/install-deps.sh

build: deps
	swift build -c release

# Notebooks first (on tiny data), then the XCTest suite, whose summary closes the log. The suite
# runs under the OpenBLAS kernels the tool chooses for itself (`fortganguli environment`).
test: deps
	scripts/test-notebooks.sh
	eval "$$($(BIN) environment --exports)" && swift test --disable-swift-testing

reproduce: build
	$(BIN) reproduce --output $(RESULTS)
	scripts/reproduce-real.sh $(RESULTS)
	scripts/figures.sh $(RESULTS)
	@echo "figures: $(RESULTS)/figures/ (PNG and PDF); tables: $(RESULTS)/reproduce.md, $(RESULTS)/real/compare/compare.md"

reproduce-full: build
	$(BIN) reproduce --output $(RESULTS)-full --seeds 20 --points 81 --sweep-seeds 10 --phase-points 20
	scripts/reproduce-real.sh $(RESULTS)-full --full
	scripts/figures.sh $(RESULTS)-full
	@echo "figures: $(RESULTS)-full/figures/ (PNG and PDF); tables: $(RESULTS)-full/reproduce.md, $(RESULTS)-full/real/compare/compare.md"

figures:
	scripts/figures.sh $(RESULTS)

bench: build
	bench/run.sh

clean:
	rm -rf .build results
