# Two commands: `make run` and `make test`. Each creates .venv when missing and installs first.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test install lint clean

$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	# torch first, pinned: here it is a CPU build on local disk; a loose requirement would pull CUDA.
	$(BIN)/python -m pip install -q torch==2.13.0
	$(BIN)/python -m pip install -q -e ".[dev,synth,eval,tb,demo]"
	# the PP-OCRv4 judge's ONNX file; --no-deps: it requires opencv-python, a second cv2 beside core's headless one
	$(BIN)/python -m pip install -q --no-deps rapidocr_onnxruntime==1.4.4
	touch $(STAMP)

install: $(STAMP)

run: $(STAMP)
	$(BIN)/sgenet upscale examples -o outputs --sheet outputs/sheet.png --print-text
	# a whole scene: detect, super-resolve the small words, read with PP-OCRv6 (outputs/read/scene.json, scene_read.png)
	$(BIN)/sgenet read examples/scene.png -o outputs/read --overwrite --print-text

lint: $(STAMP)
	$(BIN)/ruff check src tests bench tools

test: $(STAMP) lint
	OMP_NUM_THREADS=2 $(BIN)/python -m pytest -q

clean:
	rm -rf outputs .pytest_cache
