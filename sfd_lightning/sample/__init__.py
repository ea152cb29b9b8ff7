"""``sfd sample``: samples of a trained one-step generator (or of a teacher) to an .npz file (main)."""
