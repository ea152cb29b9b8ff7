"""The files the project reads and writes, each concept in its own module.

source (a file and the option that named it: what errors report), atomic (whole-or-nothing writes,
``AtomicCheckpointIO``), checkpoint (reading checkpoints), strict (strict loading), allow_list and build (rebuilding
networks from stored configs, allowed classes only), asset (exported assets), reference (the reference
implementation's formats), teacher (``load_teacher``), sfd_weights (SFD's teacher and stage-1 weights), folder
(exported generator folders), pretrained (diffusers/transformers models from the Hub or a folder), npz (.npz files
users give), resume (what a resumed checkpoint may be asked), run_lock and run_dir (run folders), yaml_file (the
user's YAML files), figures (PNG figures).
"""

from sfd_lightning.io.atomic import AtomicCheckpointIO

__all__ = ["AtomicCheckpointIO"]
