"""Modules of the multibin family (being built; see its issue)."""

__all__: list[str] = []
