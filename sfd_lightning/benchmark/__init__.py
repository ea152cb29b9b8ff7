"""``sfd benchmark``: the field's forgetting benchmarks on prompt-conditioned models (Stable Diffusion): the nudity
(I2P), identity and COCO suites, teacher and model sampled with the same seeds and judged alike."""
