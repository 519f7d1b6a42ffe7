# Shelver's commands. `make run` and `make test` install what they need.
.PHONY: run test soak bench setup clean

## run: the main job on this machine (LocalStack + both functions), until Ctrl-C
run:
	scripts/run.sh

## test: fmt, clippy, unit, handler and end-to-end tests against LocalStack
test:
	scripts/test.sh

## soak: the fault-injection proof at 10,000 records (about 3 minutes once built)
soak:
	scripts/soak.sh

## bench: every benchmark side by side; writes BENCHMARKS.md and BENCHMARKS.png
bench:
	scripts/bench.sh

## setup: only install the pinned tools into .venv/
setup:
	scripts/setup.sh

## clean: remove build output, tools and emulator state
clean:
	rm -rf target .venv .run
