"""Shared test set-up: one torch thread per test (the CI machine has 2 cores and tests run beside
other work; 2 OpenMP threads on a shared core are several times slower than 1)."""

import pytest
import torch


@pytest.fixture(autouse=True)
def _one_torch_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="session", autouse=True)
def _private_cache(tmp_path_factory):
    """The whole run uses its own SGENET_CACHE_DIR (font scans, the ONNX exports that ``Upscaler``'s
    ``backend="auto"`` makes on a CPU): tests never write into the user's ~/.cache/sgenet."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SGENET_CACHE_DIR", str(tmp_path_factory.mktemp("sgenet-cache-session")))
        yield


@pytest.fixture(scope="module")
def cache_dir(tmp_path_factory):
    """A private SGENET_CACHE_DIR (font scan cache) for a test module."""
    with pytest.MonkeyPatch.context() as mp:
        path = tmp_path_factory.mktemp("sgenet-cache")
        mp.setenv("SGENET_CACHE_DIR", str(path))
        yield path
