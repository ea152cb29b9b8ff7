"""``sfd attack``: does the forgotten class stay forgotten when someone tries to bring it back?

Three white-box attacks on a one-step generator and, for scale, on its teacher's few-step DDIM
sampler (both differentiable end to end): ``noise`` (PGD on the input noise in an L2 ball),
``embedding`` (a learned condition token, textual inversion's attack) and ``paraphrase`` (held-out
wordings of a forgotten prompt concept). The attacks optimise against a *surrogate* classifier; the
results are scored by it and by an *independent judge* the attacks never saw.
"""
