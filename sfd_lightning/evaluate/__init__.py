"""``sfd eval``: Inception metrics and forget-class accuracy of a sample set against a reference."""
