"""The identity suite for person erasure: the share of forget-prompt images showing the erased person, and of each
retained person's prompts still showing them (the erased/retained accuracies MACE and UCE print), by dlib's face
descriptors against folders of the user's photos."""

import os
from typing import Any, Dict, List, Optional

import torch

from sfd_lightning.benchmark.image_folder import read_pngs
from sfd_lightning.benchmark.items import Item, repeated
from sfd_lightning.benchmark.suite import Suite
from sfd_lightning.data.prompt_suites import read_prompt_suite, suite_hash
from sfd_lightning.errors import ConfigError
from sfd_lightning.io.markdown_table import markdown_table
from sfd_lightning.judges.identity import IdentityJudge
from sfd_lightning.metrics.eval_progress import eval_progress
from sfd_lightning.metrics.identity import SAME_PERSON, identity_shares, match, prompts_naming

FORGET = "forget"


def parse_people(specs: List[str]) -> Dict[str, str]:
    """``NAME=FOLDER`` options as name -> folder."""
    people = {}
    for spec in specs:
        name, sep, folder = spec.partition("=")
        if not sep or not name.strip() or not folder.strip():
            raise ConfigError(
                "--retained-person", f"expected NAME=FOLDER (e.g. 'tom hanks=photos/hanks'), got {spec!r}"
            )
        people[name.strip()] = folder.strip()
    return people


class IdentitySuite(Suite):
    name = "identity"

    def __init__(
        self,
        prompts: str,
        reference_folder: str,
        n_per_prompt: int,
        seed: int,
        retained_people: Optional[List[str]] = None,
        retained_prompts: Optional[str] = None,
        threshold: float = SAME_PERSON,
        detector: str = "hog",
        upsample: int = 1,
    ):
        """
        Args:
            prompts: prompts of the erased person (``--identity-prompts``), a file.
            reference_folder: photos of the erased person (``--reference-folder``).
            n_per_prompt: images per prompt; seed: image i's noise seed is ``seed + i``.
            retained_people: ``NAME=FOLDER`` of people to keep; their images are those of ``retained_prompts``
                naming them.
            retained_prompts: prompts of the retained people (``--retained-prompts``), a file.
            threshold, detector, upsample: the identity judge's (:class:`IdentityJudge`).
        """
        people = parse_people(retained_people or [])
        if people and not retained_prompts:
            raise ConfigError("--retained-prompts", "needed with --retained-person: the prompts that name each person")
        forget = [r.prompt for r in read_prompt_suite(prompts, "--identity-prompts")]
        self.items: List[Item] = repeated(forget, n_per_prompt, seed, group=FORGET)
        pool = [r.prompt for r in read_prompt_suite(retained_prompts, "--retained-prompts")] if people else []
        for name in people:
            named = prompts_naming(name, pool, "--retained-person", "--retained-prompts")
            self.items += repeated(named, n_per_prompt, seed + len(self.items), group=name)
        judge = dict(threshold=threshold, detector=detector, upsample=upsample)
        self.judges = {FORGET: IdentityJudge(reference_folder, "--reference-folder", **judge)}
        self.judges.update(
            {name: IdentityJudge(folder, f"--retained-person {name}", **judge) for name, folder in people.items()}
        )
        self.inputs = {
            "prompts": os.path.basename(prompts),
            "sha256": suite_hash(prompts),
            "n_per_prompt": n_per_prompt,
            "reference_photos": len(self.judges[FORGET].reference),
            "seeds": f"{seed} + image index",
            "threshold": threshold,
            "detector": detector,
            "upsample": upsample,
            "retained_people": {n: len(j.reference) for n, j in self.judges.items() if n != FORGET},
        }
        if people:
            self.inputs.update(
                retained_prompts=os.path.basename(retained_prompts), retained_sha256=suite_hash(retained_prompts)
            )

    def header(self) -> Dict[str, Any]:
        return {**self.inputs, "images": len(self.items), "judge": IdentityJudge.versions()}

    def judge(self, folder: str, device: torch.device) -> Dict[str, Any]:
        """Per group (``forget``, each retained person): the shares of its images showing its person and with a face."""
        embedder = self.judges[FORGET].embedder
        out: Dict[str, Any] = {}
        for group, judge in self.judges.items():
            indices = [i for i, item in enumerate(self.items) if item.group == group]
            matched = found = 0
            for start in eval_progress(
                range(0, len(indices), 16), -(-len(indices) // 16), f"faces of {group} in {folder}"
            ):
                embeddings, faces = embedder.embed_uint8(read_pngs(folder, indices[start : start + 16]))
                found += int(faces.sum())
                matched += int(match(embeddings, judge.reference, judge.threshold).sum())
            out[group] = {**identity_shares(matched, found, len(indices)), "images": len(indices)}
        retained = [r for g, r in out.items() if g != FORGET]
        if retained:
            out["retained"] = {k: sum(r[k] for r in retained) / len(retained) for k in ("matched", "faces_found")}
        return out

    def table(self, results: Dict[str, Dict[str, Any]]) -> str:
        """Erased person (lower is better) and retained people (higher is better): shares matched and with a face."""
        people = [g for g in self.judges if g != FORGET]
        head = ["model", "erased: matched", "erased: faces found"]
        head += [f"retained ({p}): matched" for p in people] + (["retained mean: matched"] if people else [])
        rows = []
        for name, r in results.items():
            row = [name, f"{r[FORGET]['matched']:.2%}", f"{r[FORGET]['faces_found']:.2%}"]
            row += [f"{r[p]['matched']:.2%}" for p in people] + ([f"{r['retained']['matched']:.2%}"] if people else [])
            rows.append(row)
        return (
            f"Face identity (dlib, distance < {self.inputs['threshold']} to the nearest reference photo) over "
            f"{len(self.items):,} images\n\n" + markdown_table(head, rows)
        )
