import os

import reports
from jostle import store

from sample_records import make_records


def test_render_all_from_a_store_directory(tmp_path):
    writer = store.Writer(str(tmp_path))
    for record in make_records():
        writer.append({k: v for k, v in record.items() if k != "schema"})
    writer.close()
    model = reports.render_all(str(tmp_path))
    assert model["exit_code"] == 1
    first = {name: (tmp_path / name).read_text(encoding="utf-8") for name in ("junit.xml", "report.html")}
    reports.render_all(str(tmp_path))
    again = {name: (tmp_path / name).read_text(encoding="utf-8") for name in ("junit.xml", "report.html")}
    assert first == again
    assert not any(name.endswith(".tmp") for name in os.listdir(tmp_path))
