"""``citygate populate`` refuses what it cannot run, saying why, before touching anything."""

from __future__ import annotations

from workshop.cli import main


def test_a_data_directory_no_service_has_started_in_is_named(tmp_path, capsys):
    assert main(["populate", "--citizens", "5", "--data-dir", str(tmp_path), "--regime", "rights"]) == 1
    err = capsys.readouterr().err
    assert "no rights identity, fines, appointments service has started" in err
    assert "citygate up" in err
    assert list(tmp_path.iterdir()) == []  # nothing written


def test_the_number_of_citizens_is_bounded(tmp_path, capsys):
    for citizens in ("0", "100001", "-3"):
        assert main(["populate", "--citizens", citizens, "--data-dir", str(tmp_path)]) == 2
        assert "--citizens must be between 1 and 100,000" in capsys.readouterr().err
