"""The model card names no path of the exporting machine: files by name, the base model by its Hub id."""
from sfd_lightning.export.model_card import base_model, portable, render


def sd_meta(pretrained, teacher_ckpt=None):
    net = {"class_path": "sfd_lightning.models.components.SDUNet", "init_args": {"pretrained": pretrained}}
    return {"denoiser": {"class_path": "sfd_lightning.diffusion.VPDenoiser", "init_args": {"net": net}}, "t_init": 625,
            "num_classes": None, "settings": {"teacher_ckpt": teacher_ckpt, "init_ckpt": pretrained}}


def test_a_hub_id_is_the_base_model_and_a_local_folder_is_named_by_its_name(tmp_path):
    hub = sd_meta("stable-diffusion-v1-5/stable-diffusion-v1-5")
    assert base_model(hub) == "stable-diffusion-v1-5/stable-diffusion-v1-5"
    card = render(hub, None, "sfd export --ckpt checkpoints/last.ckpt --out sd-forget")
    assert 'base_model: "stable-diffusion-v1-5/stable-diffusion-v1-5"' in card
    local = tmp_path / "my-sd"
    local.mkdir()
    meta = sd_meta(str(local), teacher_ckpt=str(tmp_path / "teacher.pt"))
    assert base_model(meta) is None
    card = render(meta, None, "sfd export --ckpt checkpoints/last.ckpt --out sd-forget")
    assert str(tmp_path) not in card and "base_model" not in card
    assert '"my-sd"' in card and '"teacher.pt"' in card


def test_portable_keeps_values_that_are_no_paths_here(tmp_path):
    assert portable({"a": [str(tmp_path), 3, "user/repo"]}) == {"a": [tmp_path.name, 3, "user/repo"]}
    assert portable("/nowhere/file.pt") == "file.pt"  # an absolute path, even one this machine lacks
