# releaselab — every target sets up .venv from requirements.txt first (once).
#   make book   build the book (student edition): chapters computed on the simulator, labs as exercise sheets
#   make book-instructor  build the instructor edition (+ solutions, lab guides, question bank)
#   make test   run every test (unit, property, conformance, notebooks, editions, the book in a browser)
#   make lab    open JupyterLab on work/, your copy of the labs (made once from labs/)
#   make labs   regenerate labs/ from solutions/
#   make solutions  re-run solutions/ in place (refresh their stored outputs), then make labs
PYTHON ?= python3
VENV   ?= .venv
PY     := $(VENV)/bin/python
STAMP  := $(VENV)/.installed
NBVAL  := -p no:cacheprovider --nbval-current-env

.PHONY: setup book book-instructor test test-unit test-notebooks test-editions test-browser lab labs solutions benchmarks clean

$(STAMP): requirements.txt pyproject.toml
	@test -x $(PY) || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt
	@touch $(STAMP)

setup: $(STAMP)

# _build/html is written afresh, so no page of an older build (say, one whose
# toc listed the solutions) survives in the student site; the cache keeps it quick.
book: $(STAMP)
	rm -rf _build/html
	$(VENV)/bin/jupyter-book build . -W -n --keep-going
	@echo "The book is ready: open _build/html/index.html"

# The instructor edition: its toc and config are generated from _toc.yml and
# _config.yml (book/instructor/edition.py); it reuses the book's execution cache.
INSTRUCTOR := _build/instructor
book-instructor: $(STAMP)
	$(PY) book/instructor/edition.py $(INSTRUCTOR)
	$(VENV)/bin/jupyter-book build . --toc $(INSTRUCTOR)/_toc.yml --config $(INSTRUCTOR)/_config.yml \
	  --path-output $(INSTRUCTOR) -W -n --keep-going
	@echo "The instructor edition is ready: open $(INSTRUCTOR)/_build/html/index.html"

test: test-unit test-notebooks test-editions test-browser

test-unit: $(STAMP)
	$(PY) -m pytest tests -p no:cacheprovider --ignore=tests/editions --ignore=tests/browser

# The edition tests read the built student site, so the book is built first
# (a rebuild with nothing changed takes seconds: the execution cache).
test-editions: book
	$(PY) -m pytest tests/editions -p no:cacheprovider

# nbval's strict/lax mode is per pytest session: solutions are compared
# strictly (they are deterministic on the simulator), labs only for errors.
test-notebooks: $(STAMP)
	$(PY) -m pytest --nbval $(NBVAL) solutions/
	$(PY) -m pytest --nbval-lax $(NBVAL) labs/

# The built book in headless Debian Chromium (apt-get install chromium fonts-noto-cjk);
# builds the book first (a rebuild reuses the execution cache).
test-browser: book
	$(PY) -m pytest tests/browser -p no:cacheprovider

# Jupyter refuses to run as root unless told; a container or VM login is often root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)

# Answers are written in work/, a copy of labs/ that git ignores: labs/ is
# generated (`make labs` rewrites it), so answers written there would be lost.
# A lab already in work/ is never overwritten; a new one is copied in.
lab: $(STAMP)
	@mkdir -p work
	@for nb in labs/*.ipynb; do test -e "work/$${nb#labs/}" || cp "$$nb" work/; done
	$(VENV)/bin/jupyter lab $(ROOT_FLAG) work/

labs: $(STAMP)
	$(PY) -m releaselab.labgen

solutions: $(STAMP)
	$(VENV)/bin/jupyter nbconvert --to notebook --execute --inplace \
	  --ExecutePreprocessor.record_timing=False solutions/*.ipynb
	$(PY) -m releaselab.labgen --normalize-solutions

benchmarks: $(STAMP)
	$(PY) benchmarks/sim_scale.py

clean:
	rm -rf _build .pytest_cache
