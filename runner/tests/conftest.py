import pytest

from fakebuild import make_build


@pytest.fixture
def build_dir(tmp_path):
    return make_build(str(tmp_path / "build" / "fakebuild"))
