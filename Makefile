# The two commands of the README: `make reproduce` (the main job) and `make test`.
# Both install what is missing first (Debian packages; the Python venv for figures).
RESULTS ?= results/reproduce
BIN := .build/release/fortganguli

.PHONY: deps build test reproduce figures bench clean

deps:
	@scripts/install-deps.sh

build: deps
	swift build -c release

test: deps
	swift test --disable-swift-testing

reproduce: build
	$(BIN) reproduce --output $(RESULTS)
	scripts/figures.sh $(RESULTS)
	@echo "figures: $(RESULTS)/figures/ (PNG and PDF); table: $(RESULTS)/reproduce.md"

figures:
	scripts/figures.sh $(RESULTS)

bench: build
	bench/run.sh

clean:
	rm -rf .build results
