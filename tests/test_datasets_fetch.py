"""Fetchers: data home, pooch downloads, digest checks and pinning."""

import hashlib
import http.server
import os
import threading
import time
from pathlib import Path

import pandas as pd
import pytest
from _studies import NAMED, make_sim3, write_kato, write_nichols

from wormsk.datasets import fetch_kato2015, fetch_nichols2017, make_worms

# The plumbing from the module that defines it (wormsk.datasets re-exports it).
from wormsk.datasets._fetch import (
    DATA_HOME_ENV,
    REMOTE_FILES,
    get_data_home,
    list_cached,
)

sim3 = pytest.fixture(make_sim3, scope="module", name="sim3")


# ---------------------------------------------------------------------------
# fetchers


@pytest.fixture(scope="module")
def kato_file(tmp_path_factory, sim3):
    path = tmp_path_factory.mktemp("mirror") / "WT_NoStim.mat"
    write_kato(path, sim3)
    return path


def _digest(path):
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def test_data_home(tmp_path, monkeypatch):
    monkeypatch.setenv(DATA_HOME_ENV, str(tmp_path / "env_home"))
    assert get_data_home() == tmp_path / "env_home"
    assert (tmp_path / "env_home").is_dir()
    assert get_data_home(tmp_path / "x") == tmp_path / "x"
    monkeypatch.delenv(DATA_HOME_ENV)
    monkeypatch.setenv("HOME", str(tmp_path))
    assert get_data_home() == tmp_path / "wormsk_data"


def test_fetch_downloads_once_then_uses_the_cache(
    tmp_path, kato_file, server, monkeypatch
):
    monkeypatch.setitem(REMOTE_FILES["WT_NoStim.mat"], "sha256", _digest(kato_file))
    url = server(kato_file.read_bytes()).url
    home = tmp_path / "home"
    assert not list_cached(home)["cached"].any()
    bunch = fetch_kato2015(data_home=home, url=url, neurons=NAMED)
    assert (home / "kato2015" / "WT_NoStim.mat").is_file()
    assert bunch.data.shape == (435, 8)
    table = list_cached(home).set_index("file")
    assert table.loc["WT_NoStim.mat", "cached"]
    assert not table.loc["n2_prelet.mat", "cached"]
    # a cache hit needs no server (this URL refuses connections)
    again = fetch_kato2015(data_home=home, url="https://127.0.0.1:9/x", neurons=NAMED)
    pd.testing.assert_frame_equal(bunch.data, again.data)
    fetch_kato2015(data_home=home, download_if_missing=False, neurons=NAMED)


def _names(folder):
    return sorted(p.name for p in Path(folder).iterdir())


def test_fetch_moves_bad_checksums_aside_and_never_loads_them(
    tmp_path, kato_file, monkeypatch
):
    home = tmp_path / "home"
    target = home / "kato2015" / "WT_NoStim.mat"
    aside = f"WT_NoStim.mat.mismatch-{_digest(kato_file)[:8]}"
    monkeypatch.setitem(REMOTE_FILES["WT_NoStim.mat"], "sha256", "0" * 64)
    with pytest.raises(OSError, match=r"downloaded from .* has SHA-256 "
                                      r"\w{64}, not the published 0{64}.*"
                                      "moved aside to .*" + aside):
        fetch_kato2015(data_home=home, url=kato_file.as_uri())
    assert _names(target.parent) == [aside]
    # a corrupted cached copy is moved aside, never loaded
    monkeypatch.setitem(REMOTE_FILES["WT_NoStim.mat"], "sha256", _digest(kato_file))
    fetch_kato2015(data_home=home, url=kato_file.as_uri(), neurons=NAMED)
    target.write_bytes(b"corrupted")
    bad = f"WT_NoStim.mat.mismatch-{hashlib.sha256(b'corrupted').hexdigest()[:8]}"
    with pytest.raises(OSError, match=f"not the published .*{bad}") as err:
        fetch_kato2015(data_home=home, download_if_missing=False)
    assert not target.exists()
    assert (target.parent / bad).read_bytes() == b"corrupted"
    assert "load it directly (load_kato2015(path))" in str(err.value)
    # with downloads allowed, the bad copy is moved aside (said so) and replaced
    target.write_bytes(b"corrupted")
    with pytest.warns(UserWarning, match=f"moved aside to .*{bad}.*Downloading it "
                                         "again"):
        fetch_kato2015(data_home=home, url=kato_file.as_uri(), neurons=NAMED)
    assert _digest(target) == _digest(kato_file)


def test_fetch_offline_fails_fast_with_directions(tmp_path):
    home = tmp_path / "home"
    where = str(home / "kato2015" / "WT_NoStim.mat")
    start = time.perf_counter()
    with pytest.raises(OSError, match="Could not download") as err:
        fetch_kato2015(data_home=home, url="https://127.0.0.1:9/WT_NoStim.mat")
    assert time.perf_counter() - start < 10
    assert where in str(err.value) and "osf.io/2395t" in str(err.value)
    with pytest.raises(OSError, match="No download link") as err:
        fetch_kato2015(data_home=home)
    assert where in str(err.value)
    with pytest.raises(OSError, match="download_if_missing=False"):
        fetch_kato2015(data_home=home, download_if_missing=False)
    with pytest.raises(ValueError, match="only https"):
        fetch_kato2015(data_home=home, url="http://example.org/WT_NoStim.mat")


def test_fetch_pins_unknown_digests(tmp_path):
    mirror = tmp_path / "mirror"
    mirror.mkdir()
    sim = make_worms(n_worms=1, n_frames=60, neurons=["AVAL", "AVBL"], random_state=0)
    for stem in ("n2_prelet", "npr1_prelet"):
        write_nichols(mirror / f"{stem}.mat", sim)
    urls = {f: (mirror / f).as_uri() for f in ("n2_prelet.mat", "npr1_prelet.mat")}
    home = tmp_path / "home"
    bunch = fetch_nichols2017(data_home=home, urls=urls, neurons=["AVAL"])
    assert list(pd.unique(bunch.groups)) == ["n2_prelet_0", "npr1_prelet_0"]
    pin = home / "nichols2017" / "n2_prelet.mat.sha256"
    assert pin.read_text().split()[0] == _digest(mirror / "n2_prelet.mat")
    assert set(list_cached(home)["sha256"]) == {"known", "pinned"}
    # the source changes: the pinned digest rejects it, names the pin, and the
    # copies that do not match are moved aside
    write_nichols(mirror / "n2_prelet.mat", make_worms(n_worms=1, n_frames=61))
    cached = home / "nichols2017" / "n2_prelet.mat"
    cached.write_bytes(b"tampered")
    with pytest.raises(OSError, match=f"The file downloaded .* pinned in {pin}.*"
                                      f"delete {pin}"), pytest.warns(
        UserWarning, match=f"{cached} has SHA-256 .*Downloading it again"
    ):
        fetch_nichols2017(data_home=home, urls=urls)
    assert not cached.exists()
    assert sum(n.startswith("n2_prelet.mat.mismatch-")
               for n in _names(cached.parent)) == 2


def test_a_truncated_file_by_hand_is_never_pinned_so_good_copies_still_load(
    tmp_path, monkeypatch
):
    # issue 14: a truncated n2_prelet.mat placed in the data home used to be
    # pinned, after which every correct copy (downloads included) was deleted.
    monkeypatch.setitem(REMOTE_FILES["n2_prelet.mat"], "sha256", None)
    good = tmp_path / "mirror" / "n2_prelet.mat"
    good.parent.mkdir()
    sim = make_worms(n_worms=1, n_frames=60, neurons=["AVAL", "AVBL"], random_state=0)
    write_nichols(good, sim)
    home = tmp_path / "home"
    folder = home / "nichols2017"
    folder.mkdir(parents=True)
    truncated = good.read_bytes()[: good.stat().st_size // 2]
    (folder / "n2_prelet.mat").write_bytes(truncated)
    kw = dict(data_home=home, files=["n2_prelet.mat"], neurons=["AVAL"])
    with pytest.raises(OSError, match="does not load as nichols2017.*truncated.*"
                                      "no digest was pinned"):
        fetch_nichols2017(download_if_missing=False, **kw)
    aside = f"n2_prelet.mat.mismatch-{hashlib.sha256(truncated).hexdigest()[:8]}"
    assert _names(folder) == [aside]  # moved aside, not deleted, not pinned
    # the correct copy now downloads, loads and is pinned
    got = fetch_nichols2017(urls={"n2_prelet.mat": good.as_uri()}, **kw)
    assert len(got.target) > 0
    pin = folder / "n2_prelet.mat.sha256"
    assert pin.read_text().split()[0] == _digest(good)
    # ... and keeps loading, also when put there by hand
    (folder / "n2_prelet.mat").unlink()
    (folder / "n2_prelet.mat").write_bytes(good.read_bytes())
    fetch_nichols2017(download_if_missing=False, **kw)


@pytest.mark.parametrize("content", ["", "\n", "not a digest  n2_prelet.mat\n",
                                     "abc123  n2_prelet.mat\n", "z" * 64])
def test_a_damaged_pin_file_is_named_with_how_to_reset_it(
    tmp_path, monkeypatch, content
):
    monkeypatch.setitem(REMOTE_FILES["n2_prelet.mat"], "sha256", None)
    folder = tmp_path / "nichols2017"
    folder.mkdir()
    (folder / "n2_prelet.mat").write_bytes(b"anything")
    pin = folder / "n2_prelet.mat.sha256"
    pin.write_text(content)
    with pytest.raises(ValueError, match=f"pin file {pin} does not hold a SHA-256 "
                                         f"digest.*Delete it"):
        fetch_nichols2017(data_home=tmp_path, files=["n2_prelet.mat"],
                          download_if_missing=False)
    assert (folder / "n2_prelet.mat").read_bytes() == b"anything"


@pytest.mark.parametrize("fetch, kwargs, error, match", [
    (fetch_kato2015, {"url": 123}, TypeError, "url must be a str .* got int 123"),
    (fetch_kato2015, {"url": Path("/x/WT_NoStim.mat")}, TypeError,
     r"Path\(...\).as_uri\(\)"),
    (fetch_kato2015, {"data_home": 7}, TypeError, "data_home must be a directory"),
    (fetch_kato2015, {"download_if_missing": "no"}, ValueError,
     "download_if_missing must be True or False; got 'no'"),
    (fetch_kato2015, {"neuronz": ["AVAL"]}, TypeError,
     r"Unexpected keyword argument\(s\) \['neuronz'\] for load_kato2015"),
    (fetch_kato2015, {"path": "x.mat"}, TypeError, r"\['path'\] for load_kato2015"),
    (fetch_nichols2017, {"files": []}, ValueError, "at least one; got"),
    (fetch_nichols2017, {"files": ["n2_prelet.mat"] * 2}, ValueError,
     "files must name each file to fetch once"),
    (fetch_nichols2017, {"urls": ["https://x"]}, TypeError, "urls must be a dict"),
    (fetch_nichols2017, {"states_fields": "x"}, TypeError,
     r"\['states_fields'\] for load_nichols2017"),
])  # fmt: skip
def test_fetcher_arguments_are_checked_before_any_download(
    tmp_path, fetch, kwargs, error, match
):
    kwargs = {"data_home": tmp_path / "home", **kwargs}
    with pytest.raises(error, match=match):
        fetch(**kwargs)
    assert not (tmp_path / "home").exists() or not any(
        p.is_file() for p in (tmp_path / "home").rglob("*")
    )


def test_data_home_that_is_a_file_or_not_creatable(tmp_path, monkeypatch):
    afile = tmp_path / "afile"
    afile.write_text("x")
    with pytest.raises(ValueError, match=f"data home {afile} \\(data_home\\) exists "
                                         "and is not a directory"):
        fetch_kato2015(data_home=afile)
    monkeypatch.setenv(DATA_HOME_ENV, str(afile))
    with pytest.raises(ValueError, match=f"{DATA_HOME_ENV}.*not a directory"):
        list_cached()
    with pytest.raises(OSError, match="Cannot create the data home"):
        get_data_home(afile / "below")
    # reporting where data would go creates nothing
    fresh = tmp_path / "fresh"
    assert not list_cached(fresh)["cached"].any()
    assert get_data_home(fresh, create=False) == fresh and not fresh.exists()
    with pytest.raises(ValueError, match="files must be a list"):
        fetch_nichols2017(data_home=fresh, files="n2_prelet.mat")


def test_downloads_go_to_the_data_home_that_get_data_home_names(
    tmp_path, kato_file, monkeypatch
):
    # pooch resolves the directory itself (env=WORMSK_DATA): it must agree with
    # get_data_home, where the digest is checked and the loader looks.
    monkeypatch.setitem(REMOTE_FILES["WT_NoStim.mat"], "sha256", _digest(kato_file))
    monkeypatch.setenv(DATA_HOME_ENV, str(tmp_path / "env_home"))
    fetch_kato2015(url=kato_file.as_uri(), neurons=NAMED)
    assert _names(tmp_path / "env_home" / "kato2015") == ["WT_NoStim.mat"]
    # an explicit data_home wins over the environment variable
    fetch_kato2015(data_home=tmp_path / "given", url=kato_file.as_uri(),
                   neurons=NAMED)  # fmt: skip
    assert _names(tmp_path / "given" / "kato2015") == ["WT_NoStim.mat"]
    assert _names(tmp_path / "env_home" / "kato2015") == ["WT_NoStim.mat"]
    monkeypatch.delenv(DATA_HOME_ENV)
    monkeypatch.setenv("HOME", str(tmp_path / "user"))
    fetch_kato2015(url=kato_file.as_uri(), neurons=NAMED)
    assert _names(tmp_path / "user" / "wormsk_data" / "kato2015") == ["WT_NoStim.mat"]


# ---------------------------------------------------------------------------
# download faults (from test_faults.py)


class _Server(http.server.ThreadingHTTPServer):
    """HTTP on 127.0.0.1 serving ``body``; ``cut`` bytes in, it hangs up."""

    def __init__(self, body, cut=None):
        self.body, self.cut = body, cut
        super().__init__(("127.0.0.1", 0), _Handler)
        threading.Thread(target=self.serve_forever, daemon=True).start()

    @property
    def url(self):
        return f"http://127.0.0.1:{self.server_address[1]}/file.mat"


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        body, cut = self.server.body, self.server.cut
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body if cut is None else body[:cut])
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def server():
    servers = []

    def start(body, cut=None):
        servers.append(_Server(body, cut))
        return servers[-1]

    yield start
    for s in servers:
        s.shutdown()
        s.server_close()


def _files(home):
    return sorted(p.relative_to(home) for p in Path(home).rglob("*") if p.is_file())


@pytest.mark.parametrize("url", ["http://example.org/WT_NoStim.mat",
                                 "ftp://example.org/WT_NoStim.mat"])
def test_plain_http_and_other_schemes_are_refused(tmp_path, url):
    with pytest.raises(ValueError, match="only https:// URLs"):
        fetch_kato2015(data_home=tmp_path, url=url)
    assert _files(tmp_path) == []


def test_download_cut_mid_transfer_leaves_no_file(tmp_path, server, monkeypatch):
    body = os.urandom(1 << 20)
    srv = server(body, cut=1 << 18)
    # no published digest: a half file would otherwise be pinned as the truth
    monkeypatch.setitem(REMOTE_FILES["n2_prelet.mat"], "sha256", None)
    with pytest.raises(OSError, match="Could not download n2_prelet.mat.*"
                                      "IncompleteRead"):
        fetch_nichols2017(data_home=tmp_path, urls={"n2_prelet.mat": srv.url},
                          files=["n2_prelet.mat"])
    assert _files(tmp_path) == []


def test_checksum_mismatch_is_moved_aside_and_never_loaded(tmp_path, server):
    # Not a MAT-file: if it were loaded, the loader's ValueError would surface.
    body = b"these bytes are not the published WT_NoStim.mat"
    srv = server(body)
    with pytest.raises(OSError, match="not the published .* moved aside"):
        fetch_kato2015(data_home=tmp_path, url=srv.url)
    digest = hashlib.sha256(body).hexdigest()
    assert _files(tmp_path) == [Path(f"kato2015/WT_NoStim.mat.mismatch-{digest[:8]}")]


def test_download_that_does_not_load_is_not_pinned(tmp_path, server, monkeypatch):
    # No published digest and a cut-short body that arrives "complete" (the
    # server sends a matching Content-Length): it must not become the truth.
    srv = server(b"\x89HDF\r\n\x1a\n" + bytes(100))
    monkeypatch.setitem(REMOTE_FILES["n2_prelet.mat"], "sha256", None)
    with pytest.raises(OSError, match="does not load as nichols2017.*no digest was "
                                      "pinned"):
        fetch_nichols2017(data_home=tmp_path, urls={"n2_prelet.mat": srv.url},
                          files=["n2_prelet.mat"])
    names = [p.name for p in _files(tmp_path)]
    assert len(names) == 1 and names[0].startswith("n2_prelet.mat.mismatch-")
