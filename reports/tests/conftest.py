import pytest

from jostle import query
from sample_records import make_records


@pytest.fixture
def model():
    return query.build(make_records())
