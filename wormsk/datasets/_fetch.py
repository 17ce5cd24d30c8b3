"""Download-once caching of the real datasets (pooch underneath)."""

from __future__ import annotations

import os
import shutil
import warnings
from pathlib import Path
from urllib.parse import unquote, urlparse

import numpy as np

from ._docs import fill_doc

#: Environment variable that overrides the default data directory.
DATA_HOME_ENV = "WORMSK_DATA"

#: The remote files wormsk knows how to fetch. ``url`` is a direct download link
#: (OSF storage: ``https://files.osf.io/v1/resources/<project>/providers/osfstorage/
#: <file-id>``, which redirects to the file); ``None`` means no file link is
#: recorded yet: fetching then fails at once and says where to put the
#: file by hand (or set the URL here, or pass ``url=`` to the fetcher).
#: ``sha256`` is the file's digest; ``None`` means unknown, in which case the
#: digest is pinned in ``<file>.sha256`` at first download and checked after.
_OSF_NICHOLS = "https://files.de-1.osf.io/v1/resources/kbf38/providers/osfstorage/"

REMOTE_FILES: dict[str, dict] = {
    "WT_NoStim.mat": {
        "dataset": "kato2015",
        "project": "https://osf.io/2395t/",
        "url": None,
        "sha256": "7531811c1718e26a0455f59cb2f8188cf25809278cfea85770dfe03315a0098a",
    },
    "n2_prelet.mat": {
        "dataset": "nichols2017",
        "project": "https://osf.io/kbf38/",
        "url": _OSF_NICHOLS + "5d24867945253a001939ac2c",
        "sha256": None,
    },
    "npr1_prelet.mat": {
        "dataset": "nichols2017",
        "project": "https://osf.io/kbf38/",
        "url": _OSF_NICHOLS + "5d24866f1c5b4a001b9bde6e",
        "sha256": None,
    },
}

_LOOPBACK = {"127.0.0.1", "localhost", "::1"}
_DEFAULT_HOME = "~/wormsk_data"


def get_data_home(data_home=None, create: bool = True) -> Path:
    """Directory where wormsk keeps downloaded datasets (created if missing).

    Parameters
    ----------
    data_home : str or path-like, optional
        Explicit directory. Default: the ``WORMSK_DATA`` environment variable if
        set, else ``~/wormsk_data``.
    create : bool, default=True
        Create the directory when it does not exist. ``False`` only resolves
        the path (for reporting where data would go without touching the disk).

    Returns
    -------
    path : Path

    Raises
    ------
    ValueError
        When the path exists and is not a directory.

    Examples
    --------
    >>> from wormsk.datasets import get_data_home
    >>> get_data_home("/tmp/wormsk_data").name
    'wormsk_data'
    """
    source = "data_home"
    if data_home is not None and not isinstance(data_home, (str, os.PathLike)):
        raise TypeError(
            f"data_home must be a directory path (str or path-like); got "
            f"{type(data_home).__name__} {data_home!r}."
        )
    if data_home is None:
        source = DATA_HOME_ENV if os.environ.get(DATA_HOME_ENV) else "the default"
        data_home = os.environ.get(DATA_HOME_ENV) or _DEFAULT_HOME
    path = Path(data_home).expanduser()
    if path.exists() and not path.is_dir():
        raise ValueError(
            f"The data home {path} ({source}) exists and is not a directory; "
            f"pass data_home= (or set {DATA_HOME_ENV}) to a directory, or move the "
            "file away."
        )
    if create:
        try:
            path.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise OSError(
                f"Cannot create the data home {path} ({source}): {exc}. Pass "
                f"data_home= (or set {DATA_HOME_ENV}) to a directory you can write."
            ) from exc
    return path


def _sha256(path: Path) -> str:
    import pooch

    return pooch.file_hash(str(path), alg="sha256")


def _pin_path(path: Path) -> Path:
    return path.with_name(path.name + ".sha256")


_HEX = frozenset("0123456789abcdef")


def _expected_digest(fname: str, path: Path) -> str | None:
    """The published digest, else the pinned one, else None."""
    known = REMOTE_FILES[fname]["sha256"]
    if known:
        return known
    pin = _pin_path(path)
    if not pin.is_file():
        return None
    text = pin.read_text(errors="replace")
    words = text.split()
    if not words or len(words[0]) != 64 or not set(words[0].lower()) <= _HEX:
        raise ValueError(
            f"The pin file {pin} does not hold a SHA-256 digest (it reads "
            f"{text[:80]!r}). Delete it and call again: the copy of {fname} at "
            f"{path} is then checked to load and its digest pinned anew."
        )
    return words[0].lower()


def _write_pin(path: Path, digest: str) -> None:
    pin = _pin_path(path)
    tmp = pin.with_name(pin.name + ".tmp")
    tmp.write_text(f"{digest}  {path.name}\n")
    os.replace(tmp, pin)


def _move_aside(source: Path, digest: str, path: Path | None = None) -> Path:
    """Rename a file that is not the expected ``path`` (default: ``source``)
    to ``<name>.mismatch-<hash8>``; never delete what the user put there."""
    path = source if path is None else path
    aside = path.with_name(f"{path.name}.mismatch-{digest[:8]}")
    os.replace(source, aside)
    return aside


def _hand_message(fname: str, path: Path) -> str:
    project = REMOTE_FILES[fname]["project"]
    return (
        f"Download {fname} by hand from {project} and put it at {path} (or set the "
        f"{DATA_HOME_ENV} environment variable / data_home to the directory that "
        "holds it)."
    )


def _mismatch_message(fname: str, path: Path, expected: str, actual: str,
                      aside: Path, what: str) -> str:
    if REMOTE_FILES[fname]["sha256"]:
        return (
            f"{what} has SHA-256 {actual}, not the published {expected} of "
            f"{fname}; it was moved aside to {aside} and not loaded. "
            f"{_hand_message(fname, path)} To use a copy that differs from the "
            f"published file, load it directly (load_{REMOTE_FILES[fname]['dataset']}"
            "(path))."
        )
    pin = _pin_path(path)
    return (
        f"{what} has SHA-256 {actual}, not the {expected} pinned in {pin} "
        f"(from the first copy of {fname} that loaded there); it was moved aside "
        f"to {aside} and not loaded. If this copy is the right one (the pinned "
        f"copy was not), delete {pin} and put the file back at {path}: it is then "
        "checked to load and pinned anew."
    )


def _check_and_pin(fname: str, path: Path, check, digest: str) -> None:
    """Pin ``path`` only if it loads as the expected dataset; else move it aside."""
    try:
        with warnings.catch_warnings():
            # The load that follows the pin says whatever the file deserves.
            warnings.simplefilter("ignore")
            check(path)
    except (ValueError, TypeError, KeyError, IndexError, OSError) as exc:
        aside = _move_aside(path, digest)
        raise OSError(
            f"{path} does not load as {REMOTE_FILES[fname]['dataset']} ({exc}); it "
            f"was moved aside to {aside} and no digest was pinned. "
            f"{_hand_message(fname, path)}"
        ) from exc
    _write_pin(path, digest)


def _load_check(fname: str):
    """Default check before pinning: the file loads (no neuron selected)."""
    if REMOTE_FILES[fname]["dataset"] == "kato2015":
        from ._kato import load_kato2015

        return lambda path: load_kato2015(path, neurons=[], nostate="label")
    from ._nichols import load_nichols2017

    return lambda path: load_nichols2017(path, neurons=[], nostate="label")


def _copy_local(url, output_file, pooch=None):
    """pooch downloader for file:// URLs (local mirrors and tests)."""
    source = Path(unquote(urlparse(url).path))
    with open(source, "rb") as src:
        if isinstance(output_file, (str, os.PathLike)):
            with open(output_file, "wb") as dst:
                shutil.copyfileobj(src, dst)
        else:
            shutil.copyfileobj(src, output_file)


def _downloader(url: str):
    import pooch

    parts = urlparse(url)
    if parts.scheme == "https" or (
        parts.scheme == "http" and parts.hostname in _LOOPBACK
    ):
        return pooch.HTTPDownloader(progressbar=False, timeout=30)
    if parts.scheme == "file":
        return _copy_local
    raise ValueError(
        f"Refusing to download from {url!r}: only https:// URLs (plus file:// and "
        "http:// on this machine's loopback address, for local mirrors) are allowed."
    )


def _check_loader_kwargs(loader, kwargs) -> None:
    """Refuse keywords the loader does not take before anything is downloaded."""
    import inspect

    params = inspect.signature(loader).parameters
    first = next(iter(params))
    unknown = sorted(set(kwargs) - set(params) | ({first} & set(kwargs)))
    if unknown:
        valid = [p for p in params if p != first]
        raise TypeError(
            f"Unexpected keyword argument(s) {unknown} for {loader.__name__}; it "
            f"takes {valid}."
        )


def fetch_file(
    fname: str, data_home=None, download_if_missing=True, url=None, check=None
) -> Path:
    """Path of a verified local copy of a known remote file, downloading it once.

    The file lives in ``<data_home>/<dataset>/<fname>``. Its SHA-256 is checked
    on every call against the published digest, else the one pinned in
    ``<fname>.sha256``. A file that does not match is moved aside to
    ``<fname>.mismatch-<first 8 hex digits>``, never loaded and never deleted.
    Without a known digest, a file is pinned only after ``check(path)`` (by
    default: the dataset's loader reads it) succeeds; one that does not load is
    moved aside the same way.
    """
    if fname not in REMOTE_FILES:
        raise ValueError(f"Unknown file {fname!r}; known: {sorted(REMOTE_FILES)}.")
    if not isinstance(download_if_missing, (bool, np.bool_)):
        raise ValueError(
            f"download_if_missing must be True or False; got {download_if_missing!r}."
        )
    if url is not None and not isinstance(url, str):
        raise TypeError(
            f"url must be a str (an https:// link, or file:// for a local copy, "
            f"e.g. Path(...).as_uri()); got {type(url).__name__} {url!r}."
        )
    entry = REMOTE_FILES[fname]
    check = check or _load_check(fname)
    folder = get_data_home(data_home) / entry["dataset"]
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / fname
    if path.exists() and not path.is_file():
        raise ValueError(f"{path} is not a file; move it away so {fname} can go there.")
    expected = _expected_digest(fname, path)

    if path.is_file():
        actual = _sha256(path)
        if expected is None:
            # Placed by hand and no digest known yet: pin it if it loads.
            _check_and_pin(fname, path, check, actual)
            return path
        if actual == expected:
            return path
        aside = _move_aside(path, actual)
        message = _mismatch_message(fname, path, expected, actual, aside, str(path))
        if not download_if_missing:
            raise OSError(message)
        warnings.warn(f"{message} Downloading it again.", UserWarning, stacklevel=3)
    elif not download_if_missing:
        raise OSError(
            f"{fname} is not in {folder} and download_if_missing=False. "
            f"{_hand_message(fname, path)}"
        )

    url = url or entry["url"]
    if url is None:
        raise OSError(
            f"No download link is recorded for {fname} "
            f"(wormsk.datasets.REMOTE_FILES[{fname!r}]['url'] is None). "
            f"{_hand_message(fname, path)}"
        )
    _download(fname, url, data_home, path, expected)
    if expected is None:
        _check_and_pin(fname, path, check, _sha256(path))
    return path


class _Mismatch(OSError):
    """A download whose digest is wrong (already moved aside)."""


def _download(
    fname: str, url: str, data_home, path: Path, expected: str | None
) -> None:
    """Download ``url`` to ``path`` (``<data home>/<dataset>/<fname>``) with pooch.

    pooch resolves the data home (``data_home``, else :data:`DATA_HOME_ENV`),
    writes to a temporary file in the target folder and moves it into place only
    once its digest matches ``expected`` (any file when ``None``). The digest is
    checked first by the downloader below, so that a mismatching download is
    moved aside rather than deleted by pooch.
    """
    import pooch
    import requests

    transfer = _downloader(url)
    key = f"{REMOTE_FILES[fname]['dataset']}/{fname}"

    def verified(url, output_file, pup):
        transfer(url, output_file, pup)
        if expected is None:
            return
        actual = _sha256(Path(output_file))
        if actual != expected:
            aside = _move_aside(Path(output_file), actual, path)
            raise _Mismatch(
                _mismatch_message(fname, path, expected, actual, aside,
                                  f"The file downloaded from {url}")
            )

    # pooch resolves the data home as get_data_home does (which validated it).
    registry = pooch.create(
        path=_DEFAULT_HOME if data_home is None else data_home,
        base_url="",
        registry={key: None if expected is None else f"sha256:{expected}"},
        urls={key: url},
        env=None if data_home is not None else DATA_HOME_ENV,
        # A cached copy was checked (and moved aside if wrong) before this call.
        allow_updates=False,
    )
    try:
        registry.fetch(key, downloader=verified, progressbar=False)
    except _Mismatch:
        raise
    except (requests.exceptions.RequestException, OSError) as exc:
        raise OSError(
            f"Could not download {fname} from {url} ({type(exc).__name__}: {exc}). "
            f"If this machine is offline: {_hand_message(fname, path)}"
        ) from exc


def list_cached(data_home=None):
    """Which known dataset files are present in ``data_home``.

    Returns
    -------
    cached : DataFrame
        One row per known file: ``dataset``, ``file``, ``path``, ``cached``
        (present on disk), ``size_mb``, ``sha256`` (``"known"``, ``"pinned"``
        or ``"unknown"``). Digests are not recomputed here.

    Examples
    --------
    >>> from wormsk.datasets import list_cached
    >>> list_cached("/tmp/empty_wormsk_home")["cached"].any()
    np.False_
    """
    import pandas as pd

    home = get_data_home(data_home, create=False)
    rows = []
    for fname, entry in REMOTE_FILES.items():
        path = home / entry["dataset"] / fname
        present = path.is_file()
        if entry["sha256"]:
            status = "known"
        elif _pin_path(path).is_file():
            status = "pinned"
        else:
            status = "unknown"
        rows.append(
            {
                "dataset": entry["dataset"],
                "file": fname,
                "path": str(path),
                "cached": present,
                "size_mb": round(path.stat().st_size / 1e6, 3) if present else 0.0,
                "sha256": status,
            }
        )
    return pd.DataFrame(rows)


@fill_doc
def fetch_kato2015(data_home=None, download_if_missing=True, url=None, **kwargs):
    """Download ``WT_NoStim.mat`` once into ``data_home`` and load it.

    The file's SHA-256 (``7531811c...``) is checked on every call; a file that
    fails is moved aside to ``WT_NoStim.mat.mismatch-<8 hex digits>``, never
    loaded. Offline, or with no known link, this fails at once with a message
    saying where to put the file by hand.

    Parameters
    ----------
    %(datasets_data_home)s
    %(datasets_download_if_missing)s
    url : str, optional
        Download link overriding ``REMOTE_FILES['WT_NoStim.mat']['url']``.
        Only ``https://`` (and ``file://`` or loopback ``http://``) URLs.
    **kwargs
        Passed to :func:`load_kato2015` (``neurons``, ``states``, ``nostate``,
        ``return_X_y``, ``variable``, ``min_worms``); an unknown name raises
        ``TypeError`` before any download.

    Returns
    -------
    data : Bunch or (DataFrame, ndarray)
        See :func:`load_kato2015`.

    Examples
    --------
    >>> from wormsk.datasets import fetch_kato2015
    >>> bunch = fetch_kato2015()  # doctest: +SKIP
    """
    from ._kato import load_kato2015

    _check_loader_kwargs(load_kato2015, kwargs)
    path = fetch_file("WT_NoStim.mat", data_home, download_if_missing, url)
    return load_kato2015(path, **kwargs)


@fill_doc
def fetch_nichols2017(
    data_home=None, download_if_missing=True, urls=None, files=None, **kwargs
):
    """Download the Nichols et al. (2017) pre-lethargus files once and load them.

    Parameters
    ----------
    %(datasets_data_home)s
    %(datasets_download_if_missing)s
    urls : dict, optional
        File name -> download link, overriding ``REMOTE_FILES``.
    files : list of str, default=["n2_prelet.mat", "npr1_prelet.mat"]
        Which files to fetch and load.
    **kwargs
        Passed to :func:`load_nichols2017` (``neurons``, ``states``,
        ``nostate``, ``return_X_y``, ``states_field``, ``state_codes``,
        ``min_worms``); an unknown name raises ``TypeError`` before any download.

    Returns
    -------
    data : Bunch or (DataFrame, ndarray)
        See :func:`load_nichols2017`.

    Notes
    -----
    No digests are published for these files: the first copy that loads (a
    download or a file put in the data home by hand) is pinned (its SHA-256
    stored next to it as ``<file>.sha256``) and every later copy is checked
    against the pin. A copy that does not load, or does not match the pin, is
    moved aside to ``<file>.mismatch-<8 hex digits>``, never loaded; the error
    names the pin. To pin another copy, delete ``<file>.sha256``.

    Examples
    --------
    >>> from wormsk.datasets import fetch_nichols2017
    >>> bunch = fetch_nichols2017()  # doctest: +SKIP
    """
    from ._nichols import load_nichols2017

    _check_loader_kwargs(load_nichols2017, kwargs)
    if isinstance(files, str):
        raise ValueError(
            f"files must be a list of file names; got the string {files!r}."
        )
    files = ["n2_prelet.mat", "npr1_prelet.mat"] if files is None else list(files)
    if not files or len(set(files)) != len(files):
        raise ValueError(
            f"files must name each file to fetch once, at least one; got {files}."
        )
    if not isinstance(urls or {}, dict):
        raise TypeError(f"urls must be a dict of file name -> link; got {urls!r}.")
    urls = dict(urls or {})
    unknown = sorted(set(urls) - set(files))
    if unknown:
        raise ValueError(f"urls names files not requested: {unknown}.")
    structure = {k: kwargs[k] for k in ("states_field", "state_codes") if k in kwargs}

    def check(path):
        load_nichols2017(path, neurons=[], nostate="label", **structure)

    paths = [
        fetch_file(f, data_home, download_if_missing, urls.get(f), check)
        for f in files
    ]
    return load_nichols2017(paths, **kwargs)
