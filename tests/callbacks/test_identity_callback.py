"""IdentityCallback on a tiny prompt-conditioned SFD run: its 8x8 digit-like samples show no face, so every share
is 0, which is what the judge must report for them; the reference photos are scikit-image's astronaut."""

import pytest
import torch
from lightning.pytorch import Trainer
from photos import photo_folder
from sfd_modules import make_module

from sfd_lightning.callbacks import IdentityCallback
from sfd_lightning.data import PromptDataModule
from sfd_lightning.diffusion import VPDenoiser
from sfd_lightning.errors import ConfigError
from sfd_lightning.models.components import TextUNet

skimage_data = pytest.importorskip("skimage.data")
CAPTIONS = ["a photo of seven", "seven smiling", "a photo of one", "one smiling", "a photo of three"]


@pytest.fixture(scope="module")
def person(tmp_path_factory):
    return str(photo_folder(tmp_path_factory.mktemp("person"), skimage_data.astronaut(), "astronaut.png"))


def prompt_run(callback, tmp_path):
    torch.manual_seed(0)
    net = TextUNet(
        ["a", "photo", "of", "one", "seven", "three", "smiling"],
        in_channels=1,
        resolution=8,
        ch=8,
        ch_mult=(1, 2),
        num_res_blocks=1,
        attn_resolutions=(4,),
        norm_groups=4,
    )
    module = make_module(lambda: VPDenoiser(net), num_classes=10)
    data = PromptDataModule(
        shape=(1, 8, 8), batch_size=2, iterations=1, retained_prompts=CAPTIONS, concept="seven", replacement="one"
    )
    trainer = Trainer(
        accelerator="cpu",
        max_epochs=1,
        logger=False,
        enable_checkpointing=False,
        enable_progress_bar=False,
        enable_model_summary=False,
        default_root_dir=str(tmp_path),
        callbacks=[callback],
    )
    trainer.fit(module, datamodule=data)
    return trainer


def test_the_callback_logs_the_shares_of_forget_and_retained_samples(person, tmp_path):
    callback = IdentityCallback(person, retained_people={"one": person, "three": person}, n_per_prompt=2, batch_size=3)
    trainer = prompt_run(callback, tmp_path)
    assert callback.results == {
        "identity/forget_matched": 0.0,
        "identity/forget_faces_found": 0.0,
        "identity/retained_matched": 0.0,
        "identity/retained_faces_found": 0.0,
        "identity/retained_matched/one": 0.0,
        "identity/retained_matched/three": 0.0,
        "identity/retained_faces_found/one": 0.0,
        "identity/retained_faces_found/three": 0.0,
    }
    assert float(trainer.callback_metrics["identity/forget_faces_found"]) == 0.0


def test_a_retained_person_no_prompt_names_is_refused_before_training(person, tmp_path):
    callback = IdentityCallback(person, retained_people={"brad pitt": person})
    with pytest.raises(
        ConfigError,
        match=r"^trainer\.callbacks\.IdentityCallback\.retained_people: none of the 3 "
        r"retained prompts names 'brad pitt'$",
    ):
        prompt_run(callback, tmp_path)
    with pytest.raises(ConfigError, match=r"^trainer\.callbacks\.IdentityCallback\.reference_folder: no images"):
        IdentityCallback(str(tmp_path))
