"""The GPU check's kit: the step runner's time caps and budget, the wheel lists, the report, the entry point."""

import json
import os
import re
import subprocess
import sys
import time

import pytest
from project import ROOT

import benchmarks.gpu_report as gpu_report
import benchmarks.gpu_steps as gpu_steps
from benchmarks.gpu_peaks import peak_bf16_flops

WRITE = "import json, sys; json.dump({'value': 1}, open(sys.argv[1], 'w'))"


def test_a_step_past_its_cap_is_killed_and_recorded_and_the_next_one_runs(tmp_path):
    hang = gpu_steps.Step("hang", "sleeps past its cap", 1, [sys.executable, "-c", "import time; time.sleep(60)"])
    fail = gpu_steps.Step("fail", "exits 3", 10, [sys.executable, "-c", "print('boom'); raise SystemExit(3)"])
    ok = gpu_steps.Step("ok", "writes its result", 10, [sys.executable, "-c", WRITE, "{out}"])
    start = time.time()
    report = gpu_steps.run_all([hang, fail, ok], tmp_path, budget_s=60, header={})
    assert time.time() - start < 20
    status = {s["name"]: s["status"] for s in report["steps"]}
    assert status == {"hang": "timeout: killed after 1 s", "fail": "failed (exit 3)", "ok": "ok"}
    assert report["steps"][1]["last_lines"][-1] == "boom" and report["steps"][2]["result"] == {"value": 1}
    assert json.loads((tmp_path / "gpu_check.json").read_text())["steps"] == report["steps"]
    assert "timeout: killed after 1 s" in (tmp_path / "gpu_check.md").read_text()


def test_a_step_gets_what_is_left_of_the_budget_and_none_is_started_under_the_minimum(tmp_path, monkeypatch):
    monkeypatch.setattr(gpu_steps, "MIN_STEP_S", 1)
    slow = gpu_steps.Step("slow", "", 100, [sys.executable, "-c", "import time; time.sleep(60)"])
    never = gpu_steps.Step("never", "", 100, [sys.executable, "-c", WRITE, "{out}"])
    report = gpu_steps.run_all([slow, never], tmp_path, budget_s=2, header={})
    assert report["steps"][0]["cap_s"] == 2 and report["steps"][0]["status"].startswith("timeout")
    assert report["steps"][1]["status"].startswith("skipped")


def test_only_and_skip_pick_steps_and_an_unknown_name_is_refused():
    every = gpu_steps.steps("cuda", tiny=False)
    assert [s.name for s in gpu_steps.select(every, "smoke,sd15-lora", None)] == ["smoke", "sd15-lora"]
    assert "flux-lora" not in [s.name for s in gpu_steps.select(every, None, "flux-lora")]
    with pytest.raises(SystemExit, match="unknown step 'nope'"):
        gpu_steps.select(every, "nope", None)
    assert [s.name for s in every[:4]] == ["env", "smoke", "sd15-lora", "digits-demo"]  # most important first


def pins(name):
    lines = [line.strip() for line in (ROOT / "benchmarks" / "gpu" / name).read_text().splitlines()]
    return dict(line.split("==") for line in lines if line and not line.startswith("#"))


def test_the_wheel_lists_pin_every_package_and_carry_nothing_the_node_has_but_a_newer_hub():
    carried, node = pins("wheels.txt"), pins("node.txt")
    assert all(re.fullmatch(r"\d+(\.\d+)+", v) for v in {**carried, **node}.values())
    assert set(carried) & set(node) == {"huggingface-hub"}  # newer than the node's: diffusers needs it
    assert (
        tuple(map(int, carried["huggingface-hub"].split(".")))
        >= (1, 32)
        > tuple(map(int, node["huggingface-hub"].split(".")))
    )
    assert {"diffusers", "jsonargparse", "torchvision"} <= set(carried) and node["torch"] == "2.11.0"
    assert carried["torchvision"] == "0.26.0"  # the torchvision release built against torch 2.11
    constraints = dict(line.split("==") for line in (ROOT / "constraints.txt").read_text().splitlines() if "==" in line)
    assert all(constraints[k] == v for k, v in carried.items() if k in constraints and k != "torchvision")


def test_the_cuda_column_of_the_lora_memory_table_is_filled_from_a_report():
    page = (ROOT / "docs" / "lora.md").read_text()
    assert gpu_report.CUDA_COLUMN in page
    row = {
        "key": "sd15",
        "mode": "LoRA bf16",
        "case": "SD 1.5",
        "peak_GiB": 5.25,
        "s_per_iteration": 0.125,
        "device_name": "NVIDIA H100 80GB HBM3",
    }
    filled = gpu_report.fill_docs({"steps": [{"name": "sd15-lora", "result": row}]}, page)
    lora_line = next(line for line in filled.splitlines() if "| LoRA bf16 |" in line and "0.52" in line)
    assert lora_line.endswith("| 5.25 GiB, 0.125 s (NVIDIA H100 80GB HBM3) |")
    assert filled.count(gpu_report.NOT_RUN) == page.count(gpu_report.NOT_RUN) - 1


def test_peaks_are_known_for_the_gpus_we_expect_and_unknown_otherwise():
    assert peak_bf16_flops("NVIDIA H100 80GB HBM3") == pytest.approx(989.4e12)
    assert peak_bf16_flops("NVIDIA H100 PCIe") == pytest.approx(756e12)
    assert peak_bf16_flops("Some GPU") is None


def wheel(folder, name, version, code):
    """A minimal pure-Python wheel: one module and its dist-info."""
    import zipfile

    info = f"{name}-{version}.dist-info"
    path = folder / f"{name}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        z.writestr(f"{name}.py", code)
        z.writestr(f"{info}/METADATA", f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n")
        z.writestr(f"{info}/WHEEL", "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n")
        z.writestr(f"{info}/RECORD", "")
    return path


def test_the_entry_point_installs_the_carried_wheels_offline_and_keeps_the_node_s_newer_ones(tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()
    wheel(wheels, "sfd_carried_probe", "1.0", "VALUE = 1\n")
    wheel(wheels, "pytest", "1.0", "")  # older than this Python's own: kept
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "GPU_CHECK_SITE": str(tmp_path / "site"),
        "GPU_CHECK_WHEELS": str(wheels),
        "PIP_FIND_LINKS": "",
        "PIP_INDEX_URL": "http://127.0.0.1:9/unreachable",
    }  # nothing from an index
    proc = subprocess.run(
        ["bash", "benchmarks/gpu/run.sh", "--out", str(tmp_path / "out"), "--list"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "digits-demo" in proc.stdout and "flux-lora" in proc.stdout
    assert (tmp_path / "site" / "sfd_carried_probe.py").exists() and not (tmp_path / "site" / "pytest.py").exists()
    install = (tmp_path / "out" / "install.txt").read_text()
    assert "keeps its own pytest" in install and "1 carried wheels" in install


@pytest.mark.slow  # imports every package in a fresh process (the GPU check's rehearsal runs it too)
def test_the_entry_point_installs_offline_and_writes_its_results_where_told(tmp_path):
    wheels = tmp_path / "wheels"
    wheels.mkdir()  # none carried: this environment has them
    env = {
        **os.environ,
        "PYTHON": sys.executable,
        "GPU_CHECK_SITE": str(tmp_path / "site"),
        "GPU_CHECK_WHEELS": str(wheels),
        "GPU_CHECK_OUT": str(tmp_path / "out"),
    }
    proc = subprocess.run(
        ["bash", "benchmarks/gpu/run.sh", "--device", "cpu", "--tiny", "--only", "env"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    report = json.loads((tmp_path / "out" / "gpu_check.json").read_text())
    assert [s["status"] for s in report["steps"]] == ["ok"]
    assert report["steps"][0]["result"]["sfd_cli"] == "imports"
    assert (tmp_path / "out" / "gpu_check.md").read_text().startswith("# GPU check")


def test_the_readable_report_has_a_row_per_measured_iteration_and_the_variants_ratio(tmp_path):
    row = {
        "key": "sd15",
        "mode": "LoRA bf16",
        "case": "SD 1.5",
        "peak_GiB": 5.0,
        "s_per_iteration": 0.2,
        "ratio_to_passes": 1.1,
        "tflop_per_iteration": 80.0,
        "mfu": 0.4,
        "device_name": "NVIDIA H100 80GB HBM3",
    }
    robust = dict(row, s_per_iteration=0.35)
    report = {
        "tiny": False,
        "steps": [
            {
                "name": "env",
                "status": "ok",
                "result": {
                    "python": "3.12.1",
                    "device": {"name": "NVIDIA H100 80GB HBM3"},
                    "packages": {"torch": {"version": "2.11.0"}},
                },
            },
            {"name": "sd15-lora", "title": "SD 1.5 LoRA", "status": "ok", "wall_s": 30, "cap_s": 75, "result": row},
            {
                "name": "sd15-lora-robust",
                "title": "robust SFD",
                "status": "ok",
                "result": {"plain": row, "robust": robust, "ratio": 1.75},
            },
            {
                "name": "flux-lora",
                "title": "FLUX",
                "status": "timeout: killed after 90 s",
                "last_lines": ["CUDA out of memory"],
            },
        ],
    }
    gpu_report.write_markdown(report, tmp_path / "gpu_check.md")
    text = (tmp_path / "gpu_check.md").read_text()
    assert text.startswith("# GPU check: NVIDIA H100 80GB HBM3") and "torch 2.11.0" in text
    assert "| SD 1.5 | LoRA bf16 | 5.00 | 0.200 | 1.10 | 80 | 40.0% |" in text
    assert "| SD 1.5 | LoRA bf16, robust | 5.00 | 0.350 |" in text and "robust SFD: x1.75" in text
    assert "## flux-lora: timeout: killed after 90 s" in text and "CUDA out of memory" in text
