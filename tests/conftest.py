import pytest
import torch

from radarode_lite import data


@pytest.fixture(scope="module")
def one_thread():
    """Small tensors: one thread is faster, and immune to a busy machine's thread contention."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def tiny_root(tmp_path_factory):
    """A real, tiny data set: 2 subjects, normal breathing, 6 s each (6 segments)."""
    root = tmp_path_factory.mktemp("tiny") / "set"
    data.generate_dataset(root, n_subjects=2, statuses=("NB",), duration_s=6.0, progress=False, save_mat=False)
    return root


@pytest.fixture
def torch_one_thread():
    """One torch thread for one test: the data generator's parallel SST (numba) resets torch's count."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
