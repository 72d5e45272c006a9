"""FileVault: the secrets of one server, or of its workers sharing a data dir."""

import multiprocessing
import os
import stat
from pathlib import Path

import pytest

from astapa.store.vault import FileVault


def _create(directory: str, start, results) -> None:
    start.wait()
    results.put(FileVault(Path(directory)).create("pages.key", os.urandom(32)))


def test_workers_creating_one_key_at_once_all_get_the_same_whole_key(tmp_path: Path):
    context = multiprocessing.get_context("fork")
    for round_ in range(30):
        directory = tmp_path / f"keys{round_}"
        start, results = context.Barrier(3), context.Queue()
        workers = [context.Process(target=_create, args=(str(directory), start, results)) for _ in range(3)]
        for worker in workers:
            worker.start()
        for worker in workers:
            worker.join(30)
        values = {results.get(timeout=10) for _ in workers}
        assert len(values) == 1 and len(values.pop()) == 32
        assert [p.name for p in directory.iterdir()] == ["pages.key"]  # no partial file left


def test_secrets_are_private_files_written_whole(tmp_path: Path):
    vault = FileVault(tmp_path / "keys")
    vault.write("providers/proj_1.json", b"{}")
    vault.write("providers/proj_1.json", b'{"google": {}}')
    path = tmp_path / "keys" / "providers" / "proj_1.json"
    assert path.read_bytes() == b'{"google": {}}' and stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE((tmp_path / "keys").stat().st_mode) == 0o700
    assert vault.read("providers/proj_2.json") is None
    vault.delete("providers/proj_1.json")
    assert vault.read("providers/proj_1.json") is None


@pytest.mark.parametrize("name", ["../escape", "a/b/c", ".hidden", "providers/../x", ""])
def test_a_name_cannot_leave_the_vault(tmp_path: Path, name: str):
    with pytest.raises(ValueError):
        FileVault(tmp_path / "keys").read(name)
