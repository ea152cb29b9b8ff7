"""Forget prompts for a concept list: a few templates filled with each concept, one prompt a line.

    python -m experiments.many_concepts.forget_prompts configs/prompts/celebrities.csv \
        configs/prompts/celebrities_prompts.txt

A run that forgets many people needs prompts that name each of them (``data.forget_prompts``); the retained prompts
name none. configs/prompts/celebrities_prompts.txt is this script's output for configs/prompts/celebrities.csv.
"""

import argparse
import csv
from typing import List, Sequence

TEMPLATES = (
    "a photo of {}",
    "a portrait of {} smiling",
    "{} on the red carpet",
    "a close-up photo of {}'s face",
)


def concept_names(path: str) -> List[str]:
    """The ``concept`` column of a CSV (``.tsv``: tab-separated) concept list, in its order."""
    with open(path, newline="", encoding="utf-8-sig") as f:
        rows = csv.DictReader(f, delimiter="\t" if path.endswith(".tsv") else ",")
        return [row["concept"].strip() for row in rows]


def forget_prompts(concepts: Sequence[str], templates: Sequence[str] = TEMPLATES) -> List[str]:
    """Every template filled with every concept, concept by concept (the concept as written in the list)."""
    return [template.format(concept) for concept in concepts for template in templates]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("concepts", help="CSV/TSV with concept and replacement columns (data.concepts)")
    parser.add_argument("out", help="text file to write, one forget prompt a line (data.forget_prompts)")
    args = parser.parse_args(argv)
    prompts = forget_prompts(concept_names(args.concepts))
    with open(args.out, "w", encoding="utf-8") as f:
        f.write("\n".join(prompts) + "\n")
    print(f"{len(prompts)} prompts -> {args.out}")


if __name__ == "__main__":
    main()
