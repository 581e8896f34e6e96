"""The file work of downloads: created, fsynced, renamed in, in batches of one thread hop."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path
from typing import BinaryIO

import pytest

from reelform.apply import download
from reelform.apply.download import DownloadFiles


def partial_file(folder: Path, name: str, data: bytes) -> tuple[BinaryIO, Path, Path]:
    partial = folder / f".reelform-{name}.partial"
    handle = partial.open("wb")
    handle.write(data)
    return handle, partial, folder / f"{name}.mp4"


async def download_one(files: DownloadFiles, folder: Path, name: str, data: bytes) -> int:
    partial = folder / f".reelform-{name}.partial"
    handle = await files.create(partial)
    handle.write(data)
    return await files.place((handle, partial, folder / f"{name}.mp4"))


def test_concurrent_downloads_share_thread_hops_and_folder_fsyncs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
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
        files = DownloadFiles()

        async def one(i: int) -> int:
            await asyncio.sleep(i % 4 * 0.005)
            return await download_one(files, tmp_path, f"v{i}", b"video %d" % i)

        return await asyncio.gather(*(one(i) for i in range(40)))

    mtimes = asyncio.run(main())
    for i, mtime_ns in enumerate(mtimes):
        final = tmp_path / f"v{i}.mp4"
        assert final.read_bytes() == b"video %d" % i
        assert final.stat().st_mtime_ns == mtime_ns
    assert not list(tmp_path.glob(".reelform-*"))
    # 40 creates and 40 placements; each placing batch fsynced the folder once.
    assert 2 <= hops <= 20, hops
    assert 1 <= len(folder_syncs) <= 10
    assert set(folder_syncs) == {tmp_path}


def test_a_failed_move_fails_only_its_own_download(tmp_path: Path) -> None:
    (tmp_path / "taken.mp4").mkdir()  # a folder where the video should go

    async def main() -> list[int | BaseException]:
        files = DownloadFiles()
        return await asyncio.gather(
            files.place(partial_file(tmp_path, "fine", b"a")),
            files.place(partial_file(tmp_path, "taken", b"b")),
            files.place(partial_file(tmp_path, "also-fine", b"c")),
            return_exceptions=True,
        )

    fine, taken, also_fine = asyncio.run(main())
    assert isinstance(fine, int) and isinstance(also_fine, int)
    assert isinstance(taken, OSError)
    assert (tmp_path / "fine.mp4").read_bytes() == b"a"
    assert (tmp_path / "also-fine.mp4").read_bytes() == b"c"


def test_a_cancelled_download_does_not_stop_the_batch(tmp_path: Path) -> None:
    async def main() -> None:
        files = DownloadFiles()
        first = asyncio.create_task(files.place(partial_file(tmp_path, "a", b"a")))
        second = asyncio.create_task(files.place(partial_file(tmp_path, "b", b"b")))
        await asyncio.sleep(0)
        first.cancel()
        assert isinstance(await second, int)

    asyncio.run(main())
    assert (tmp_path / "b.mp4").read_bytes() == b"b"
    # The cancelled one was handed over already: it is placed all the same (and with
    # no record of it in the lockfile, the next apply downloads it again).
    assert (tmp_path / "a.mp4").read_bytes() == b"a"
    assert sorted(os.listdir(tmp_path)) == ["a.mp4", "b.mp4"]


def test_a_file_created_for_a_cancelled_download_is_closed_and_removed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    created: list[BinaryIO] = []
    real_create_all = download._create_all

    def create_all(paths: list[Path]) -> list[BinaryIO | Exception]:
        results = real_create_all(paths)
        created.extend(r for r in results if not isinstance(r, Exception))
        return results

    monkeypatch.setattr(download, "_create_all", create_all)

    async def main() -> None:
        files = DownloadFiles()
        waiter = asyncio.create_task(files.create(tmp_path / ".reelform-a.partial"))
        await asyncio.sleep(0)
        waiter.cancel()
        for _ in range(500):  # the batch finishes without its caller
            if created and created[0].closed:
                break
            await asyncio.sleep(0.01)

    asyncio.run(main())
    assert len(created) == 1 and created[0].closed
    assert not (tmp_path / ".reelform-a.partial").exists()
