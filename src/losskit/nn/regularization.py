"""Modules of the regularization family (being built; see its issue)."""

__all__: list[str] = []
