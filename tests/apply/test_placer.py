"""Placing finished downloads: fsynced, renamed in, in batches of one thread hop each."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import BinaryIO

import pytest

from reelform.apply import download
from reelform.apply.download import Placer


def partial_file(folder: Path, name: str, data: bytes) -> tuple[BinaryIO, Path, Path]:
    partial = folder / f".reelform-{name}.partial"
    handle = partial.open("wb")
    handle.write(data)
    return handle, partial, folder / f"{name}.mp4"


def test_concurrent_downloads_share_thread_hops_and_folder_fsyncs(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder_syncs: list[Path] = []
    hops = 0
    real_fsync_dir, real_to_thread = download.fsync_dir, asyncio.to_thread

    def slow_fsync_dir(folder: Path) -> None:
        folder_syncs.append(folder)
        time.sleep(0.01)  # a slow disk: more downloads finish meanwhile
        real_fsync_dir(folder)

    async def counted_to_thread(*args: object) -> object:
        nonlocal hops
        hops += 1
        return await real_to_thread(*args)  # type: ignore[arg-type]

    monkeypatch.setattr(download, "fsync_dir", slow_fsync_dir)
    monkeypatch.setattr(asyncio, "to_thread", counted_to_thread)

    async def main() -> list[int]:
        placer = Placer()

        async def one(i: int) -> int:
            await asyncio.sleep(i % 4 * 0.005)
            return await placer.place(*partial_file(tmp_path, f"v{i}", b"video %d" % i))

        return await asyncio.gather(*(one(i) for i in range(40)))

    mtimes = asyncio.run(main())
    for i, mtime_ns in enumerate(mtimes):
        final = tmp_path / f"v{i}.mp4"
        assert final.read_bytes() == b"video %d" % i
        assert final.stat().st_mtime_ns == mtime_ns
    assert not list(tmp_path.glob(".reelform-*"))
    assert 1 <= hops == len(folder_syncs) <= 10, hops
    assert set(folder_syncs) == {tmp_path}


def test_a_failed_move_fails_only_its_own_download(tmp_path: Path) -> None:
    (tmp_path / "taken.mp4").mkdir()  # a folder where the video should go

    async def main() -> list[int | BaseException]:
        placer = Placer()
        return await asyncio.gather(
            placer.place(*partial_file(tmp_path, "fine", b"a")),
            placer.place(*partial_file(tmp_path, "taken", b"b")),
            placer.place(*partial_file(tmp_path, "also-fine", b"c")),
            return_exceptions=True)

    fine, taken, also_fine = asyncio.run(main())
    assert isinstance(fine, int) and isinstance(also_fine, int)
    assert isinstance(taken, OSError)
    assert (tmp_path / "fine.mp4").read_bytes() == b"a"
    assert (tmp_path / "also-fine.mp4").read_bytes() == b"c"


def test_a_cancelled_download_does_not_stop_the_batch(tmp_path: Path) -> None:
    async def main() -> None:
        placer = Placer()
        first = asyncio.create_task(placer.place(*partial_file(tmp_path, "a", b"a")))
        second = asyncio.create_task(placer.place(*partial_file(tmp_path, "b", b"b")))
        await asyncio.sleep(0)
        first.cancel()
        assert isinstance(await second, int)

    asyncio.run(main())
    assert (tmp_path / "b.mp4").read_bytes() == b"b"
    # The cancelled one was handed over already: it is placed all the same (and with
    # no record of it in the lockfile, the next apply downloads it again).
    assert (tmp_path / "a.mp4").read_bytes() == b"a"
    assert sorted(os.listdir(tmp_path)) == ["a.mp4", "b.mp4"]
