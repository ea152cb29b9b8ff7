"""A model you can draw images from, held one way by every verb.

base (``Pipeline``: shape, conditioning, NFE, decode/encode, a differentiable ``generate`` and a no-grad ``draw``),
one_step (``OneStepPipeline``, ``load_generator``: an SFD generator), multi_step (``MultiStepPipeline``: a teacher's
or a baseline's DDIM), checkpoints (the multi-step models of ``sfd``'s checkpoint files), load (``load_pipeline``,
``teacher_of``: the one loader) and live (``from_module``: a training run's networks, for callbacks).
"""
