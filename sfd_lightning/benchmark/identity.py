"""The identity suite for person erasure: the share of forget-prompt images showing the erased person, and of each
retained person's prompts still showing them (the erased/retained accuracies MACE and UCE print), by dlib's face
descriptors against folders of the user's photos. With several erased people (``--erased-people``) each has its
share (``erased/<name>``), ``forget`` is the worst of them (the highest share, as ``forget/accuracy`` of a run that
forgets several) and ``erased_mean`` their mean."""

import os
from typing import Any, Dict, List, Optional, Sequence, Union

import torch

from sfd_lightning.benchmark.erased_people import person_folders, read_names
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
ERASED = "erased/"  # the group of each erased person's images when there are several: erased/<name>


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
        erased_people: Union[str, Sequence[str], None] = None,
    ):
        """
        Args:
            prompts: prompts of the erased person (``--identity-prompts``), a file; with several erased people, each
                one's images are those of the prompts naming them.
            reference_folder: photos of the erased person (``--reference-folder``); with ``erased_people``, a folder
                holding one subfolder of photos per erased person, named after them.
            n_per_prompt: images per prompt; seed: image i's noise seed is ``seed + i``.
            retained_people: ``NAME=FOLDER`` of people to keep; their images are those of ``retained_prompts``
                naming them.
            retained_prompts: prompts of the retained people (``--retained-prompts``), a file.
            threshold, detector, upsample: the identity judge's (:class:`IdentityJudge`).
            erased_people: several erased people (``--erased-people``): names, comma-separated text, or a file (a
                CSV/TSV with a ``concept`` column, or one name a line). None: the one person of ``reference_folder``.
        """
        people = parse_people(retained_people or [])
        if people and not retained_prompts:
            raise ConfigError("--retained-prompts", "needed with --retained-person: the prompts that name each person")
        erased = person_folders(read_names(erased_people), reference_folder) if erased_people is not None else {}
        both = [n for n in people if n.lower() in {e.lower() for e in erased}]
        if both:
            raise ConfigError("--retained-person", f"{both[0]!r} is one of the erased people (--erased-people)")
        forget = [r.prompt for r in read_prompt_suite(prompts, "--identity-prompts")]
        self.erased = list(erased)
        self.items: List[Item] = [] if erased else repeated(forget, n_per_prompt, seed, group=FORGET)
        for name in erased:
            named = prompts_naming(name, forget, "--erased-people", "--identity-prompts")
            self.items += repeated(named, n_per_prompt, seed + len(self.items), group=ERASED + name)
        pool = [r.prompt for r in read_prompt_suite(retained_prompts, "--retained-prompts")] if people else []
        for name in people:
            named = prompts_naming(name, pool, "--retained-person", "--retained-prompts")
            self.items += repeated(named, n_per_prompt, seed + len(self.items), group=name)
        judge = dict(threshold=threshold, detector=detector, upsample=upsample)
        folders = {ERASED + n: f for n, f in erased.items()} or {FORGET: reference_folder}
        self.judges = {group: IdentityJudge(folder, "--reference-folder", **judge) for group, folder in folders.items()}
        self.judges.update(
            {name: IdentityJudge(folder, f"--retained-person {name}", **judge) for name, folder in people.items()}
        )
        self.inputs = self._inputs(prompts, n_per_prompt, seed, judge, people, retained_prompts)

    def _inputs(self, prompts, n_per_prompt, seed, judge, people, retained_prompts) -> Dict[str, Any]:
        erased = {n: len(self.judges[ERASED + n].reference) for n in self.erased}
        inputs = {
            "prompts": os.path.basename(prompts),
            "sha256": suite_hash(prompts),
            "n_per_prompt": n_per_prompt,
            "reference_photos": erased or len(self.judges[FORGET].reference),
            "seeds": f"{seed} + image index",
            **judge,
            "retained_people": {n: len(self.judges[n].reference) for n in people},
        }
        if erased:
            inputs["erased_people"] = list(erased)
        if people:
            inputs.update(
                retained_prompts=os.path.basename(retained_prompts), retained_sha256=suite_hash(retained_prompts)
            )
        return inputs

    def header(self) -> Dict[str, Any]:
        return {**self.inputs, "images": len(self.items), "judge": IdentityJudge.versions()}

    def judge(self, folder: str, device: torch.device) -> Dict[str, Any]:
        """Per group (``forget``, or ``erased/<name>`` per erased person with ``forget`` the worst of them and
        ``erased_mean``; each retained person): the shares of its images showing its person and with a face."""
        embedder = next(iter(self.judges.values())).embedder
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
        if self.erased:
            out = {**worst_and_mean([out[ERASED + n] for n in self.erased], self.erased), **out}
        retained = [r for g, r in out.items() if g in self.judges and g != FORGET and not g.startswith(ERASED)]
        if retained:
            out["retained"] = {k: sum(r[k] for r in retained) / len(retained) for k in ("matched", "faces_found")}
        return out

    def table(self, results: Dict[str, Dict[str, Any]]) -> str:
        """Erased person (lower is better) and retained people (higher is better): shares matched and with a face."""
        heading = (
            f"Face identity (dlib, distance < {self.inputs['threshold']} to the nearest reference photo) over "
            f"{len(self.items):,} images\n\n"
        )
        if getattr(self, "erased", None):
            return heading + people_table(self.erased, [g for g in self.judges if not g.startswith(ERASED)], results)
        people = [g for g in self.judges if g != FORGET]
        head = ["model", "erased: matched", "erased: faces found"]
        head += [f"retained ({p}): matched" for p in people] + (["retained mean: matched"] if people else [])
        rows = []
        for name, r in results.items():
            row = [name, f"{r[FORGET]['matched']:.2%}", f"{r[FORGET]['faces_found']:.2%}"]
            row += [f"{r[p]['matched']:.2%}" for p in people] + ([f"{r['retained']['matched']:.2%}"] if people else [])
            rows.append(row)
        return heading + markdown_table(head, rows)


def worst_and_mean(shares: List[Dict[str, Any]], names: List[str]) -> Dict[str, Any]:
    """``forget``: the shares of the erased person most often still shown (the first of a tie), with their name;
    ``erased_mean``: the mean shares over the erased people."""
    k = max(range(len(shares)), key=lambda i: shares[i]["matched"])
    mean = {key: sum(s[key] for s in shares) / len(shares) for key in ("matched", "faces_found")}
    return {FORGET: {**shares[k], "person": names[k]}, "erased_mean": mean}


def people_table(erased: List[str], retained: List[str], results: Dict[str, Dict[str, Any]]) -> str:
    """A row per model and person: each erased person, the worst and the mean of them, each retained person and
    their mean."""
    rows = []
    for model, r in results.items():
        groups = [(f"erased: {n}", r[ERASED + n]) for n in erased]
        groups += [(f"erased, worst: {r[FORGET]['person']}", r[FORGET]), ("erased, mean", r["erased_mean"])]
        groups += [(f"retained: {n}", r[n]) for n in retained]
        groups += [("retained, mean", r["retained"])] if retained else []
        rows += [[model, label, f"{g['matched']:.2%}", f"{g['faces_found']:.2%}"] for label, g in groups]
    return markdown_table(["model", "person", "matched", "faces found"], rows)
