"""``comfyui_workflow.json``: a graph of ComfyUI nodes, each with exactly the inputs ComfyUI declares, linked
output type to input type, one Euler step from the export's sigma_init at CFG 1 on the export's single file."""

import json

import pytest
import torch
from project import ROOT

from sfd_lightning.cli import main
from sfd_lightning.data.sample_blocks import SampleBlocks
from sfd_lightning.export.comfyui_workflow import WORKFLOW, one_step_graph, write_comfyui_workflow

# ComfyUI 0.3.64's declarations of these nodes (nodes.py, comfy_extras/nodes_custom_sampler.py, comfy/samplers.py):
# each node's required inputs and their types, and its outputs' types. "COMBO": one of a listed set of strings.
NODES = {
    "CheckpointLoaderSimple": ({"ckpt_name": "COMBO"}, ("MODEL", "CLIP", "VAE")),
    "CLIPTextEncode": ({"text": "STRING", "clip": "CLIP"}, ("CONDITIONING",)),
    "BasicScheduler": ({"model": "MODEL", "scheduler": "COMBO", "steps": "INT", "denoise": "FLOAT"}, ("SIGMAS",)),
    "SetFirstSigma": ({"sigmas": "SIGMAS", "sigma": "FLOAT"}, ("SIGMAS",)),
    "KSamplerSelect": ({"sampler_name": "COMBO"}, ("SAMPLER",)),
    "EmptyLatentImage": ({"width": "INT", "height": "INT", "batch_size": "INT"}, ("LATENT",)),
    "SamplerCustom": (
        {
            "model": "MODEL",
            "add_noise": "BOOLEAN",
            "noise_seed": "INT",
            "cfg": "FLOAT",
            "positive": "CONDITIONING",
            "negative": "CONDITIONING",
            "sampler": "SAMPLER",
            "sigmas": "SIGMAS",
            "latent_image": "LATENT",
        },
        ("LATENT", "LATENT"),
    ),
    "VAEDecode": ({"samples": "LATENT", "vae": "VAE"}, ("IMAGE",)),
    "SaveImage": ({"images": "IMAGE", "filename_prefix": "STRING"}, ()),
}
SCHEDULERS = {
    "simple",
    "sgm_uniform",
    "karras",
    "exponential",
    "ddim_uniform",
    "beta",
    "normal",
    "linear_quadratic",
    "kl_optimal",
}
RANGES = {
    ("SetFirstSigma", "sigma"): (0.0, 20000.0),
    ("BasicScheduler", "steps"): (1, 10000),
    ("BasicScheduler", "denoise"): (0.0, 1.0),
    ("SamplerCustom", "cfg"): (0.0, 100.0),
    ("EmptyLatentImage", "width"): (16, 16384),
    ("EmptyLatentImage", "height"): (16, 16384),
}
WIDGET = {"INT": int, "FLOAT": (int, float), "BOOLEAN": bool, "STRING": str, "COMBO": str}


def check_graph(graph):
    """What ComfyUI's prompt validation checks of these nodes: known class, its inputs exactly, links to an existing
    node's output of the input's type, widget values of the input's type and range; and every node feeds the output."""
    for node_id, node in graph.items():
        inputs, _ = NODES[node["class_type"]]
        assert set(node["inputs"]) == set(inputs), node_id
        for name, value in node["inputs"].items():
            if isinstance(value, list):
                source, index = value
                assert NODES[graph[source]["class_type"]][1][index] == inputs[name], (node_id, name)
            else:
                assert isinstance(value, WIDGET[inputs[name]]) and not (
                    inputs[name] == "INT" and isinstance(value, bool)
                )
                low, high = RANGES.get((node["class_type"], name), (value, value))
                assert low <= value <= high, (node_id, name, value)
    feeding, todo = set(), [k for k, n in graph.items() if n["class_type"] == "SaveImage"]
    while todo:
        node_id = todo.pop()
        feeding.add(node_id)
        todo += [v[0] for v in graph[node_id]["inputs"].values() if isinstance(v, list)]
    assert feeding == set(graph)


def nodes_of(graph, class_type):
    return [n["inputs"] for n in graph.values() if n["class_type"] == class_type]


def test_the_graph_is_one_euler_step_from_sigma_init_at_cfg_1():
    graph = one_step_graph("sfd.safetensors", 2.4933, 512, 512)
    check_graph(graph)
    assert nodes_of(graph, "CheckpointLoaderSimple") == [{"ckpt_name": "sfd.safetensors"}]
    (scheduler,), (first,), (sampler,) = (
        nodes_of(graph, c) for c in ("BasicScheduler", "SetFirstSigma", "SamplerCustom")
    )
    assert scheduler["steps"] == 1 and scheduler["denoise"] == 1.0 and scheduler["scheduler"] in SCHEDULERS
    assert first["sigma"] == 2.4933 and sampler["cfg"] == 1.0 and sampler["add_noise"] is True
    assert nodes_of(graph, "KSamplerSelect") == [{"sampler_name": "euler"}]
    assert nodes_of(graph, "VAEDecode")[0]["samples"] == [
        next(k for k, n in graph.items() if n["class_type"] == "SamplerCustom"),
        1,
    ]


def test_the_graphs_noise_is_sfd_samples_first_image_at_seed_0():
    """ComfyUI's noise for a seed (comfy.sample.prepare_noise): torch.manual_seed(seed), then torch.randn on the CPU."""
    (sampler,) = nodes_of(one_step_graph("sfd.safetensors", 2.5, 64, 64), "SamplerCustom")
    ours = SampleBlocks(["a prompt", "another"], (4, 8, 8), batch_size=500, seed=0)[0]["noise"][:1]
    torch.manual_seed(sampler["noise_seed"])
    assert torch.equal(torch.randn((1, 4, 8, 8)), ours)


def test_no_workflow_without_a_single_file(tmp_path):
    assert write_comfyui_workflow(str(tmp_path), None, 2.5, 64) is None
    assert not (tmp_path / WORKFLOW).exists()


@pytest.fixture(scope="module")
def exported(tiny_sd_run, tmp_path_factory):
    out = tmp_path_factory.mktemp("workflow") / "exported"
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(ROOT)
        main(["export", "--ckpt", str(tiny_sd_run[0]), "--out", str(out)])
    return out


def test_sfd_export_writes_the_graph_of_its_single_file_and_sigma_init(exported):
    graph = json.loads((exported / WORKFLOW).read_text())
    check_graph(graph)
    meta = json.loads((exported / "sfd_generator.json").read_text())
    (loader,), (first,), (latent,) = (
        nodes_of(graph, c) for c in ("CheckpointLoaderSimple", "SetFirstSigma", "EmptyLatentImage")
    )
    assert (exported / loader["ckpt_name"]).is_file()
    assert first["sigma"] == meta["sigma_init"]  # the float itself: JSON keeps every digit of a double
    side = json.loads((exported / "unet" / "config.json").read_text())["sample_size"]
    assert latent["width"] == latent["height"] == 8 * side and latent["batch_size"] == 1
