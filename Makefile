# sfd-lightning. `make demo` runs SFD on the embedded digits default; `make test` runs the tests.
PYTHON ?= python3
VENV ?= .venv
TORCH_SPEC ?= torch==2.14.1 torchvision==0.29.1
# torch's own wheel index, e.g. https://download.pytorch.org/whl/cpu for CPU-only wheels (PyPI's bring ~5 GB of CUDA libraries)
TORCH_INDEX_URL ?=
BIN := $(VENV)/bin
CONFIG ?= configs/digits_forget_2stage.yaml
ARGS ?=
SWEEP ?= experiments/sweeps/digits_grid.yaml
# make rescore: a digits run's FID re-scored with other noise seeds and more samples than the demo's table
CKPT ?=
FORGET ?= 0
SEEDS ?= 1 2
N ?= 2000
TEACHER ?= assets/digits_teacher.pt
RESCORE_DIR ?= runs/rescore
# the W&B run the rescore's figures join (a run path, or the checkpoint's own run); WANDB_RUN= to leave W&B alone
WANDB_RUN ?= $(CKPT)

# a clone of the reference implementation (tqch/score-forgetting-distillation at 3771028): make fixtures records the
# reference-parity fixtures from it; make bench REFERENCE=... times its own SFD loop beside ours
REFERENCE ?=

.PHONY: install demo demo-text test test-slow lint docs docs-serve assets teacher-fid bench bench-load bench-judges bench-memory gpu-check gpu-wheels gpu-rehearsal sweep rescore attack compare compare-text many-concepts tune-baselines fixtures clean

install: $(VENV)/.installed

$(VENV)/.installed: setup.cfg pyproject.toml constraints.txt
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -c constraints.txt $(if $(TORCH_INDEX_URL),--index-url $(TORCH_INDEX_URL)) $(TORCH_SPEC)
	$(BIN)/python -m pip install -q -c constraints.txt -e ".[dev]"
	touch $@

demo: install  ## the main job: forget digit 0 (override 1) and distil to one step, on the CPU
	$(BIN)/sfd fit --config $(CONFIG) $(ARGS)

demo-text: install  ## the text-to-image default: forget the prompt concept "seven" (shown "one"), on the CPU
	$(BIN)/sfd fit --config configs/digits_text_forget_2stage.yaml $(ARGS)

test: install  ## the default test suite (no network, CPU, slow tests excluded)
	$(BIN)/python -m pytest -q $(ARGS)

test-slow: install  ## only the slow tests
	$(BIN)/python -m pytest -q -m slow $(ARGS)

lint: install  ## ruff (pyproject.toml: line length 120): lint and import order, then the formatting, each checked, nothing rewritten
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# MkDocs' own and Material's notices about MkDocs 2 on every build
DOCS_ENV := NO_MKDOCS_2_WARNING=1 DISABLE_MKDOCS_2_WARNING=true

docs: install  ## these docs: docs/ and the API reference from the docstrings into site/, failing on any broken link or page
	$(DOCS_ENV) $(BIN)/python -m mkdocs build --strict --site-dir site

docs-serve: install  ## the docs on http://127.0.0.1:8000, rebuilt on every edit
	$(DOCS_ENV) $(BIN)/python -m mkdocs serve

assets: install  ## retrain the shipped digits assets (assets/*.pt: classifier, independent judge, teachers, stage-1 generators) and rewrite the digits caption prompts
	$(BIN)/sfd fit --config configs/digits_classifier.yaml
	$(BIN)/sfd fit --config configs/digits_judge.yaml
	$(BIN)/sfd fit --config configs/digits_teacher.yaml
	$(BIN)/sfd fit --config configs/digits_distill.yaml
	$(BIN)/python -c "from sfd_lightning.data.digit_captions import main; main(['configs/prompts/digits_captions.txt'])"
	$(BIN)/sfd fit --config configs/digits_text_teacher.yaml
	$(BIN)/sfd fit --config configs/digits_text_distill.yaml
	$(MAKE) teacher-fid

teacher-fid: install  ## the shipped teacher's FIDs for both digits demos (0->1, 3->8) into assets/digits_teacher_fid.json
	rm -rf assets/digits_teacher_fid.json runs/teacher_fid
	set -e; for pair in "0 1" "3 8"; do set -- $$pair; \
	  SFD_CACHE_DIR=runs/teacher_fid/cache $(BIN)/sfd fit --config configs/digits_forget_2stage.yaml --data.init_args.iterations=1 \
	    --trainer.logger=false --trainer.default_root_dir=runs/teacher_fid/$$1_$$2 --model.forget_label=$$1 --model.override_label=$$2; done
	cp runs/teacher_fid/cache/teacher_fid.json assets/digits_teacher_fid.json

sweep: install  ## a W&B sweep spec: W&B agents when logged in, else run here (ARGS="--parallel 2 --local")
	$(BIN)/sfd sweep $(SWEEP) $(ARGS)

bench: install  ## seconds per SFD iteration against the summed cost of its network passes; REFERENCE=<clone>: against the reference's own loop; ARGS="--overlay Y": with a config overlay against plain SFD
	$(BIN)/python -m benchmarks.bench $(if $(REFERENCE),--reference $(REFERENCE)) $(ARGS)

bench-memory: install  ## peak memory and s/iteration of one SFD iteration at full size (SD 1.5, DiT-XL/2, CIFAR-10, SDXL, SD3, FLUX.1): full fp32, full bf16, LoRA bf16
	$(BIN)/python -m benchmarks.bench_memory --out bench_memory.json $(ARGS)

bench-judges: install  ## seconds per 1,000 images of the nudity (NudeNet) and identity (dlib) judges on this machine
	$(BIN)/python -m benchmarks.bench_judges $(ARGS)

bench-load: install  ## seconds per SFD iteration alone and beside a second sfd fit, spinning vs passive OpenMP waits (~6 min)
	$(BIN)/python -m benchmarks.bench_load $(ARGS)

gpu-check:  ## the GPU check on this machine, as a GPU node runs it (benchmarks/gpu/run.sh: no install, steps capped, ~9 min): runs/gpu_check/gpu_check.md
	$(if $(wildcard $(BIN)/python),PYTHON=$(BIN)/python GPU_CHECK_WHEELS=,PYTHON=$(PYTHON)) bash benchmarks/gpu/run.sh --out runs/gpu_check $(ARGS)

gpu-wheels:  ## the wheels a GPU node lacks (benchmarks/gpu/wheels.txt), CPython 3.12 manylinux x86_64, no dependencies, into .whl/; prints their size
	PYTHON=$(if $(wildcard $(BIN)/python),$(BIN)/python,$(PYTHON)) bash benchmarks/gpu/wheels.sh

gpu-rehearsal: gpu-wheels  ## the node mimicked here: a Python 3.12 venv of benchmarks/gpu/node.txt (torch 2.11), the offline install from .whl/, run.sh --device cpu --tiny
	bash benchmarks/gpu/rehearsal.sh $(ARGS)

rescore: install  ## FID of a digits run's generator and of the teacher (50-step DDIM), N a class, each of SEEDS: CKPT=... [FORGET=0]
	@test -n "$(CKPT)" || { echo "make rescore: give CKPT=<run>/checkpoints/last.ckpt (and FORGET=<its forget label>)"; exit 2; }
	mkdir -p $(RESCORE_DIR)
	set -e; for s in $(SEEDS); do \
	  $(BIN)/sfd sample --ckpt $(CKPT) --labels 0-9 --n-per-label $(N) --seed $$s --out $(RESCORE_DIR)/generator_s$$s.npz --overwrite; \
	  t=$(RESCORE_DIR)/teacher_$(notdir $(basename $(TEACHER)))_n$(N)_s$$s.npz; \
	  test -f $$t || $(BIN)/sfd sample --ckpt $(TEACHER) --steps 50 --labels 0-9 --n-per-label $(N) --seed $$s --out $$t; \
	  for who in generator teacher; do \
	    f=$(RESCORE_DIR)/generator_s$$s.npz; test $$who = teacher && f=$$t; \
	    $(BIN)/sfd eval $$f --reference digits --forget-label $(FORGET) --metrics fid \
	      --features classifier:assets/digits_classifier.pt --out $(RESCORE_DIR)/fid_$${who}_s$$s.json --overwrite \
	      $(if $(WANDB_RUN),--wandb-run $(WANDB_RUN) --wandb-prefix rescore/$${who}_s$$s/); \
	  done; done
	$(BIN)/python -c "import json, sys; d = sys.argv[1]; seeds = sys.argv[2:]; \
	fid = {w: [json.load(open(f'{d}/fid_{w}_s{s}.json'))['fid'] for s in seeds] for w in ('generator', 'teacher')}; \
	[print(f'{w:9s} FID ' + '  '.join(f'seed {s}: {v:.4f}' for s, v in zip(seeds, fid[w])) + f'  mean {sum(fid[w]) / len(seeds):.4f}') for w in fid]; \
	print(f'ratio generator / teacher: {sum(fid[\"generator\"]) / sum(fid[\"teacher\"]):.3f}')" $(RESCORE_DIR) $(SEEDS)

attack: install  ## attacks on a digits forgetting run (noise, embedding, relearning...), teacher beside it, two judges (~15 min): CKPT=... [ARGS="--paraphrases FILE"]
	@test -n "$(CKPT)" || { echo "make attack: give CKPT=<run>/checkpoints/last.ckpt (the digits demo's, say)"; exit 2; }
	$(BIN)/sfd attack --ckpt $(CKPT) --examples digits --reference digits $(ARGS)

compare: install  ## SFD, ESD, SalUn, Selective Amnesia and retraining on digits, one table, two methods at a time: runs/compare_digits/compare.md
	$(BIN)/sfd compare experiments/compare/digits.yaml --parallel 2 $(ARGS)

compare-text: install  ## the same for the text model, forget "seven": runs/compare_digits_text/compare.md
	$(BIN)/sfd compare experiments/compare/digits_text.yaml --parallel 2 $(ARGS)

many-concepts: install  ## forget 0,3,5 (and "seven","three") jointly and one request after another, two seeds, on the CPU: runs/many_concepts/many_concepts.md
	$(BIN)/python -m experiments.many_concepts.run $(ARGS)

tune-baselines: install  ## ESD, SalUn, Selective Amnesia on digits: the grids of experiments/tuning/, best FID ratio with forget <= 5% (~45 min)
	for s in esd salun sa; do \
	  $(BIN)/sfd sweep experiments/tuning/digits_$$s.yaml --local --parallel 2 --constraint "final/forget/accuracy<=0.05" $(ARGS) || exit 1; \
	done

fixtures: install  ## rerun the references' own code for tests/fixtures/: REFERENCE=<clone of tqch/score-forgetting-distillation at 3771028> [ESD=<clone of rohitgandikota/erasing at 25613d2>]
	@test -n "$(REFERENCE)" || { echo "make fixtures: give REFERENCE=<path to a clone of tqch/score-forgetting-distillation>"; exit 2; }
	$(BIN)/python -m pip install -q einops psutil blobfile  # the reference's own imports
	$(BIN)/python tests/fixtures/make_reference_ddpm.py $(REFERENCE)
	$(BIN)/python tests/fixtures/make_reference_iteration.py $(REFERENCE)
	@if [ -n "$(ESD)" ]; then $(BIN)/python tests/fixtures/make_esd_reference.py $(ESD); fi

clean:
	rm -rf runs lightning_logs .pytest_cache .ruff_cache site
