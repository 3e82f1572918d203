# The two commands a newcomer needs (see README):
#   make serve   set up (idempotent) and serve the explorer at http://localhost:5006/app
#   make test    set up with test extras (and chromium) and run the whole test suite
PORT ?= 5006

.PHONY: serve test setup
serve:
	bash scripts/setup.sh serve
	.venv/bin/photospec serve --port $(PORT)

test:
	bash scripts/setup.sh test
	.venv/bin/python -m pytest

setup:
	bash scripts/setup.sh test
