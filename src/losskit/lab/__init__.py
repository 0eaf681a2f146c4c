"""Experiments that `losskit demo` runs: each a plain function returning its numbers."""
