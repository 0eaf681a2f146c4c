"""The huge-page advice behind the fused kernels' outputs (losskit._core.pages)."""

from __future__ import annotations

import sys

import pytest
import torch

from losskit._core import pages

LINUX_THP = sys.platform.startswith("linux") and pages._madvise() is not None


def _vm_flags(addr: int) -> list[str]:
    """The VmFlags of the mapping of this process that holds ``addr`` (from /proc/self/smaps)."""
    inside = False
    with open("/proc/self/smaps") as f:
        for line in f:
            head = line.split()[0]
            if "-" in head and not head.endswith(":"):
                lo, hi = (int(v, 16) for v in head.split("-"))
                inside = lo <= addr < hi
            elif inside and head == "VmFlags:":
                return line.split()[1:]
    raise AssertionError(f"no mapping holds {addr:#x}")


def test_empty_is_torch_empty() -> None:
    out = pages.empty((300, 7), dtype=torch.float64, device=torch.device("cpu"))
    assert out.shape == (300, 7) and out.dtype == torch.float64 and out.is_contiguous()


def test_small_buffers_are_left_alone() -> None:
    assert not pages.advise_huge(torch.empty(pages.MIN_BYTES // 4 - 1))


@pytest.mark.skipif(not LINUX_THP, reason="needs Linux with transparent huge pages not 'never'")
def test_large_buffer_is_advised_into_huge_pages() -> None:
    out = pages.empty((pages.MIN_BYTES // 4 * 3,), dtype=torch.float32, device=torch.device("cpu"))
    start = out.data_ptr()
    middle = (start + out.nbytes // 2) & ~((2 << 20) - 1)
    assert "hg" in _vm_flags(middle)
    out.fill_(1.5)  # the advice changes no value
    assert torch.equal(out, torch.full_like(out, 1.5))


def test_environment_switch_turns_it_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LOSSKIT_HUGE_PAGES", "0")
    pages._madvise.cache_clear()
    try:
        assert not pages.advise_huge(torch.empty(pages.MIN_BYTES))
    finally:
        monkeypatch.delenv("LOSSKIT_HUGE_PAGES")
        pages._madvise.cache_clear()
