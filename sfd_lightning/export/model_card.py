"""The model card of an exported generator: its folder's README.md, with a Hugging Face metadata header."""

import json
import os
from typing import Any, Dict, List, Optional

from sfd_lightning.errors import ConfigError, describe
from sfd_lightning.export.family_recipes import family_usage
from sfd_lightning.export.lineage_card import lineage_section
from sfd_lightning.metrics.table import format_report


def run_file(ckpt_path: str, name: str) -> str:
    """A file of the checkpoint's run folder (the folder holding ``checkpoints/``)."""
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(ckpt_path))), name)


def run_text(ckpt_path: str, relative: str) -> Optional[str]:
    """A text file of the checkpoint's run folder, None when it is not there; an unreadable one is a one-line
    ConfigError naming ``--ckpt`` (the card would misreport the run without it)."""
    path = run_file(ckpt_path, relative)
    if not os.path.isfile(path):
        return None
    try:
        with open(path, encoding="utf-8") as f:
            return f.read()
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(
            "--ckpt", f"the run's {path!r} is not readable text ({describe(err)}); fix or remove it"
        ) from None


def find_report(ckpt_path: str) -> Optional[Dict[str, float]]:
    """The run's ``report.json`` (written by ReportCallback into the run folder): an object of numbers."""
    text = run_text(ckpt_path, "report.json")
    if text is None:
        return None
    path = run_file(ckpt_path, "report.json")
    try:
        report = json.loads(text)
    except (ValueError, RecursionError) as err:
        raise ConfigError(
            "--ckpt", f"the run's {path!r} is not readable JSON ({describe(err)}); fix or remove it"
        ) from None
    numbers = isinstance(report, dict) and all(
        isinstance(v, (int, float)) and not isinstance(v, bool) for v in report.values()
    )
    if not numbers:
        raise ConfigError(
            "--ckpt", f"the run's {path!r} is not an object of numbers (ReportCallback writes one); fix or remove it"
        )
    return report


CARD_INPUTS = (
    "report.json",
    "config.yaml",
    os.path.join("attack", "attack.md"),
    os.path.join("benchmark", "benchmark.md"),
)


def run_inputs(ckpt_path: str) -> List[str]:
    """The files of the checkpoint's run folder the card is made from (those there)."""
    return [path for path in (run_file(ckpt_path, name) for name in CARD_INPUTS) if os.path.isfile(path)]


def prompt_forgetting(ckpt_path: str) -> Dict[str, Any]:
    """A prompt run's ``mode``, ``concept`` and ``replacement`` (or ``override_prompts``: true), from its resolved
    ``config.yaml`` (``data.init_args``); empty when the run folder has no readable one."""
    import yaml

    try:
        with open(run_file(ckpt_path, "config.yaml"), encoding="utf-8") as f:
            config = yaml.safe_load(f)
        data = config["data"]["init_args"]
    except (OSError, UnicodeDecodeError, yaml.YAMLError, KeyError, TypeError):
        return {}
    found = {k: data.get(k) for k in ("mode", "concept", "replacement") if isinstance(data.get(k), str)}
    return {**found, **({"override_prompts": True} if data.get("override_prompts") else {})}


def _forgotten(meta: Dict[str, Any]) -> str:
    """What the generator forgets, and what it shows instead, for the card's title."""
    if meta.get("num_classes") is not None:
        labels, overrides = meta.get("forget_label"), meta.get("override_label")
        if isinstance(labels, list):
            shown = overrides if isinstance(overrides, list) else [overrides] * len(labels)
            pairs = ", ".join(
                f"{c} (shown {o if o is not None else 'a class its policy picks'})" for c, o in zip(labels, shown)
            )
            return f"classes {pairs}"
        return f"class {labels} (shown the teacher's class {overrides} instead)"
    forget = meta.get("forget") or {}
    if len(forget.get("concepts") or []) > 1:
        return "the prompt concepts " + ", ".join(
            f'"{c["concept"]}" (shown "{c["replacement"]}")' for c in forget["concepts"]
        )
    concept, replacement = forget.get("concept"), forget.get("replacement")
    if forget.get("mode") == "nudity":
        return "nudity (its forget prompts are subjects with a nudity keyword; it shows the bare subject instead)"
    if concept and forget.get("override_prompts"):
        return f'the prompt concept "{concept}" (it shows what the run\'s override prompts describe instead)'
    if concept and replacement is not None:
        return f'the prompt concept "{concept}" (prompts naming it show "{replacement}" instead)'
    return (
        "the concept of its forget prompts (a prompt-conditioned run whose config.yaml was not beside its checkpoint)"
    )


def usage_prompts(meta: Dict[str, Any]) -> str:
    """The card's ``pipe.sample`` call: labels for a class model, the forgotten concept and what it shows instead
    (or a plain prompt) for a prompt model."""
    if meta.get("num_classes") is not None:
        labels = [meta.get("forget_label"), meta.get("override_label")]
        labels = [c for c in labels if isinstance(c, int)] or [0]
        return f"pipe.sample({labels}, n=8, seed=0)  # in [-1, 1]: the forgotten class, then the class it shows instead"
    forget = meta.get("forget") or {}
    concept, replacement = forget.get("concept"), forget.get("replacement")
    if concept and replacement and forget.get("mode") != "nudity":
        return (
            f"pipe.sample({json.dumps([concept, replacement])}, n=8, seed=0)  # in [-1, 1]: the forgotten concept, "
            "then what it shows instead"
        )
    return 'pipe.sample(["a photo of a person"], n=8, seed=0)  # in [-1, 1]; a list of prompts'


def portable(value: Any) -> Any:
    """``value`` as a card meant for the Hub prints it: a path of the exporting machine becomes its file name (a Hub
    id, which names no existing path here, stays as it is)."""
    if isinstance(value, str) and value and (os.path.isabs(value) or os.path.exists(value)):
        return os.path.basename(os.path.normpath(value))
    if isinstance(value, dict):
        return {k: portable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [portable(v) for v in value]
    return value


def base_model(meta: Dict[str, Any]) -> Optional[str]:
    """The Hub id of the pretrained model the run started from (a network's ``pretrained``), if it names one."""
    net = ((meta.get("denoiser") or {}).get("init_args") or {}).get("net")
    pretrained = ((net or {}).get("init_args") or {}).get("pretrained") if isinstance(net, dict) else None
    return pretrained if isinstance(pretrained, str) and portable(pretrained) == pretrained else None


def _settings(meta: Dict[str, Any]) -> List[str]:
    return [f"- `{k}`: `{json.dumps(portable(v))}`" for k, v in (meta.get("settings") or {}).items()]


def reproduce(ckpt_path: str, out: str) -> str:
    """The card's commands: the run (its resolved ``config.yaml``, written by ``sfd fit`` into the run folder, when
    it is there) and the export, named by file and folder names only."""
    ckpt = (
        os.path.join("checkpoints", os.path.basename(ckpt_path)) if os.path.isfile(ckpt_path) else portable(ckpt_path)
    )
    fit = (
        "sfd fit --config config.yaml  # the run's resolved config, in its run folder\n"
        if os.path.isfile(run_file(ckpt_path, "config.yaml"))
        else ""
    )
    return fit + f"sfd export --ckpt {ckpt} --out {os.path.basename(os.path.normpath(out))}"


def _run_markdown(ckpt_path: str, relative: str) -> Optional[str]:
    text = run_text(ckpt_path, relative)
    return None if text is None else text.strip()


def find_attacks(ckpt_path: str) -> Optional[str]:
    """The run's attack table (``sfd attack`` or ``AttackCallback``: ``<run>/attack/attack.md``), if any."""
    return _run_markdown(ckpt_path, os.path.join("attack", "attack.md"))


def find_benchmark(ckpt_path: str) -> Optional[str]:
    """The run's ``sfd benchmark`` tables (``<run>/benchmark/benchmark.md``) without their title, each suite's
    heading a level down to sit under the card's section, if the run has them."""
    text = _run_markdown(ckpt_path, os.path.join("benchmark", "benchmark.md"))
    if text is None:
        return None
    lines = [line for line in text.splitlines() if not line.startswith("# ")]
    return "\n".join("#" + line if line.startswith("## ") else line for line in lines).strip()


def diffusers_usage(
    meta: Dict[str, Any],
    latent_shape: tuple,
    lora_file: Optional[str] = None,
    single_file: Optional[str] = None,
    schedule: Any = None,
    vae_factor: int = 8,
) -> List[str]:
    """For a Stable Diffusion generator: stock diffusers code that draws its one-step images (one DDPM step at t_init,
    from latents sqrt(1 - alpha_bar(t_init)) z = sigma_init / sqrt(1 + sigma_init^2) z, no guidance), and the
    single-file checkpoint for ComfyUI and AUTOMATIC1111 when the export wrote one (one Euler step from sigma_init
    to 0 is the same x0 prediction)."""
    net = ((meta.get("denoiser") or {}).get("init_args") or {}).get("net") or {}
    family = family_usage(meta, latent_shape, base_model(meta) or "BASE_MODEL", schedule, vae_factor)
    if family is not None:  # SDXL, SD3, FLUX (the schedule: a flow model's shift; vae_factor: pixels a latent)
        return family
    if not str(net.get("class_path", "")).endswith("SDUNet"):
        return []
    sigma = float(meta["sigma_init"])
    scale = sigma / (1 + sigma**2) ** 0.5
    base = base_model(meta) or "BASE_MODEL"  # a local base: the reader puts in where they have it
    full = (
        "pipe = StableDiffusionPipeline.from_pretrained(BASE, safety_checker=None, unet=UNet2DConditionModel"
        '.from_pretrained(THIS_MODEL, subfolder="unet"))'
    )
    load = (
        [
            "# the generator as a LoRA on the base model's UNet, or (the line after) its full UNet:",
            "pipe = StableDiffusionPipeline.from_pretrained(BASE, safety_checker=None)",
            f'pipe.load_lora_weights(THIS_MODEL, weight_name="{lora_file}")',
            "# " + full,
        ]
        if lora_file
        else [full]
    )
    return [
        "## Use with stock diffusers",
        "",
        "The same images with diffusers alone: one DDPM step at t_init from scaled Gaussian latents"
        + (
            f" (the generator as a diffusers LoRA, `{lora_file}`, or its full UNet, `unet/`)."
            if lora_file
            else " (its UNet, `unet/`)."
        ),
        "",
        "```python",
        "import torch",
        "from diffusers import DDPMScheduler, StableDiffusionPipeline, UNet2DConditionModel",
        "",
        f'BASE, THIS_MODEL = "{base}", "PATH_OR_HUB_ID_OF_THIS_FOLDER"',
        *load,
        "pipe.scheduler = DDPMScheduler.from_config(pipe.scheduler.config)  # its last step returns the x0 prediction",
        f"z = torch.randn((1, {', '.join(str(s) for s in latent_shape)}), generator=torch.Generator().manual_seed(0))",
        f'image = pipe("a prompt", latents={scale:.8f} * z, timesteps=[{meta["t_init"]}], '
        "guidance_scale=1.0).images[0]",
        "```",
        "",
        *(comfyui_usage(single_file, sigma, meta["t_init"]) if single_file else []),
    ]


def comfyui_usage(single_file: str, sigma: float, t_init: int) -> List[str]:
    """The card's lines for ComfyUI (the nodes of ``comfyui_workflow.json``, written beside the single file) and
    AUTOMATIC1111: one Euler step from sigma_init to 0 at CFG 1 is the generator's x0 prediction."""
    return [
        "## Use in ComfyUI and AUTOMATIC1111",
        "",
        f"`{single_file}` is this UNet with the base model's VAE and text encoder in the original Stable Diffusion "
        "layout: put it in ComfyUI's `models/checkpoints` or AUTOMATIC1111's `models/Stable-diffusion`.",
        "",
        f"ComfyUI: `comfyui_workflow.json` is the one-step graph (ComfyUI's API format, what its `/prompt` endpoint "
        f"runs): **Load Checkpoint** (`{single_file}`) → **CLIP Text Encode** (the prompt; an empty negative) → "
        f"**BasicScheduler** (1 step) → **SetFirstSigma** (sigma {sigma:.4f}) → **SamplerCustom** (sampler `euler` "
        f"from KSamplerSelect, cfg 1, an Empty Latent Image) → **VAE Decode** of its denoised output.",
        "",
        f"AUTOMATIC1111: sample one Euler step from sigma {sigma:.4f} (timestep {t_init}) to 0, CFG 1.",
        "",
    ]


def render(
    meta: Dict[str, Any],
    report: Optional[Dict[str, float]],
    command: str,
    attacks: Optional[str] = None,
    benchmark: Optional[str] = None,
    usage: Optional[List[str]] = None,
) -> str:
    """The card: what was forgotten and how well, the SFD settings, intended use and limits, how to reproduce."""
    base = base_model(meta)
    header = [
        "---",
        "library_name: sfd-lightning",
        *([f"base_model: {json.dumps(base)}"] if base else []),
        "tags: [machine-unlearning, score-forgetting-distillation, one-step-generator, diffusion-distillation]",
        "---",
    ]
    results = (
        format_report(report)
        if report
        else "No report.json was found beside the checkpoint; run `sfd validate --ckpt_path ...`."
    )
    return "\n".join(
        header
        + [
            "",
            "# One-step generator that forgets " + _forgotten(meta),
            "",
            "Distilled and made to forget with Score Forgetting Distillation (Chen, Zhang & Zhou, ICLR 2025) in",
            f"sfd-lightning: one network evaluation an image, from t_init = {meta['t_init']}"
            + (f", after {meta['iteration']} SFD iterations." if meta.get("iteration") is not None else "."),
            "",
            "## Results (the run's final evaluation)",
            "",
            results,
            "",
            *lineage_section(meta.get("lineage") or []),
            *(["## Benchmark (`sfd benchmark`)", "", benchmark, ""] if benchmark else []),
            *(["## Attacks on the forgetting (`sfd attack`)", "", attacks, ""] if attacks else []),
            "## SFD settings",
            "",
            *_settings(meta),
            "",
            "## Use",
            "",
            "```python",
            "from sfd_lightning import load_generator",
            'pipe = load_generator("PATH_OR_HUB_ID")',
            "images = " + usage_prompts(meta),
            "```",
            "",
            *(usage or []),
            "## Intended use and limits",
            "",
            "For research on machine unlearning and for safer deployment of the base model. Forgetting is measured on",
            "the run's own evaluation (classifier-judged samples of the forgotten class or concept from random noise);",
            "it is not a guarantee: adversarial noise, learned embeddings or paraphrased prompts may still bring the",
            "forgotten content back. Test it against the attacks you care about before relying on it.",
            "",
            "## Reproduce",
            "",
            "```bash",
            command,
            "```",
            "",
        ]
    )
