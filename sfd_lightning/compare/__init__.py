"""``sfd compare``: SFD and the unlearning baselines trained and scored side by side, on the same teacher, the same
forget/override pair, the same samples per class and noise seeds, the same classifier, FID features and attacks."""
