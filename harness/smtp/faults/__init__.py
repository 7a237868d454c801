"""One module per fault kind; see ``harness.faults`` for the public names."""
