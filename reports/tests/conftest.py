import pytest

from jostle import aggregate
from sample_records import make_records


@pytest.fixture
def model():
    return aggregate.build(make_records())
