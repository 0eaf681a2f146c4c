"""The boxes family (being built; see its issue)."""

__all__: list[str] = []
