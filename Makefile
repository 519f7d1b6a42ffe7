# Shelver's commands. `make run` and `make test` install what they need.
.PHONY: run test setup clean

## run: the main job on this machine (LocalStack + both functions), until Ctrl-C
run:
	scripts/run.sh

## test: fmt, clippy, unit, handler and end-to-end tests against LocalStack
test:
	scripts/test.sh

## setup: only install the pinned tools into .venv/
setup:
	scripts/setup.sh

## clean: remove build output, tools and emulator state
clean:
	rm -rf target .venv .run
