"""The catalogue loader leaves ``segments/`` to autofin.segments (and still refuses other strays)."""

from __future__ import annotations

from pathlib import Path

import pytest

from autofin.catalog.loader import OWNED_ELSEWHERE, CatalogueError, default_catalogue_dir, load_catalogue


def test_segments_directory_is_not_a_stray(tmp_path: Path) -> None:
    (tmp_path / "catalogue.yaml").write_text('version: "1"\n')
    (tmp_path / "segments").mkdir()
    (tmp_path / "segments" / "default.yaml").write_text("not: [a, catalogue, item\n")  # never read here
    catalogue = load_catalogue(tmp_path)
    assert catalogue.products == {}
    assert OWNED_ELSEWHERE["segments"] == "autofin.segments.rules"


def test_other_directories_are_still_refused(tmp_path: Path) -> None:
    (tmp_path / "catalogue.yaml").write_text('version: "1"\n')
    (tmp_path / "segment").mkdir()
    (tmp_path / "segment" / "x.yaml").write_text("id: x\n")
    with pytest.raises(CatalogueError, match=r"unknown catalogue directory; expected one of .*segments"):
        load_catalogue(tmp_path)


def test_the_repository_catalogue_loads_beside_its_segment_scheme() -> None:
    assert (default_catalogue_dir() / "segments" / "default.yaml").is_file()
    assert load_catalogue().products
