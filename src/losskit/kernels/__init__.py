"""Fused autograd.Functions and chunked algorithms behind the fast paths of losskit.functional."""
