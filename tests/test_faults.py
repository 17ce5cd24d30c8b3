"""Faults: diverging training, interrupted fits, checkpoints, determinism, files.

Issue 7: a NaN/inf training loss stops with an error naming the epoch; an
interrupted fit keeps a usable model and its history and warm_start continues it;
a Checkpoint restores the best epoch, and parallel grid-search workers never
share checkpoint files; the same random_state gives the same predictions in this
and in another process; parameter files load weights-only; downloads are
HTTPS-only, verified before use and written atomically.
"""

import hashlib
import http.server
import os
import pickle
import subprocess
import sys
import threading
from pathlib import Path

import numpy as np
import pytest
import torch
from _data import training_data
from sklearn.model_selection import GridSearchCV, GroupKFold
from skorch.callbacks import Callback, Checkpoint
from skorch.dataset import ValidSplit

from wormsk.datasets import REMOTE_FILES, fetch_kato2015, fetch_nichols2017
from wormsk.model_selection import LeaveWormsOut
from wormsk.models import (
    GNNClassifier,
    GNNRegressor,
    GRURegressor,
    MLPClassifier,
    MLPRegressor,
)
from wormsk.preprocessing import make_trajectory_targets

ESTIMATORS = [MLPClassifier, GNNClassifier, MLPRegressor, GNNRegressor, GRURegressor]


def _output(model, X):
    return model.predict_proba(X) if hasattr(model, "predict_proba") else (
        model.predict(X))


# ---------------------------------------------------------------------------
# a diverging loss


def test_infinite_loss_from_extreme_inputs_stops_at_epoch_1(rec):
    X, _ = rec
    # Unscaled values of 1e25 overflow float32 in the squared error.
    X_t, Y = make_trajectory_targets(X * 1e25, horizon=3)
    with pytest.raises(FloatingPointError, match=r"loss became inf at epoch 1 "
                                                 r"\(batch 1\).*PerWormScaler"):
        MLPRegressor(max_epochs=3, random_state=0).fit(X_t, Y)


class _PoisonWeights(Callback):
    """Fault injection: NaN weights from the start of epoch ``epoch``."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_begin(self, net, **kwargs):
        if len(net.history) == self.epoch:
            with torch.no_grad():
                next(net.module_.parameters()).fill_(float("nan"))


@pytest.mark.parametrize("cls", [GNNClassifier, GRURegressor])
def test_nan_loss_mid_training_names_the_epoch(rec, cls):
    X, y = training_data(cls, rec)
    model = cls(max_epochs=5, callbacks=[_PoisonWeights(3)], random_state=0)
    with pytest.raises(FloatingPointError, match="loss became nan at epoch 3"):
        model.fit(X, y)
    # the two clean epochs are in the history; no garbage epoch was recorded
    assert len(model.history_) == 3
    assert np.isfinite(model.history_[:2, "train_loss"]).all()


# ---------------------------------------------------------------------------
# interrupted fits


class _InterruptAfter(Callback):
    """Simulates Ctrl-C at the end of epoch ``epoch``."""

    def __init__(self, epoch):
        self.epoch = epoch

    def on_epoch_end(self, net, **kwargs):
        if len(net.history) == self.epoch:
            raise KeyboardInterrupt


@pytest.mark.parametrize("cls", [GNNClassifier, GRURegressor])
def test_interrupted_fit_keeps_model_and_warm_start_finishes_it(rec, cls):
    X, y = training_data(cls, rec)
    model = cls(max_epochs=5, callbacks=[_InterruptAfter(2)], warm_start=True,
                random_state=0)
    model.fit(X, y)  # skorch catches the interrupt: fit returns normally
    assert len(model.history_) == 2
    two = cls(max_epochs=2, random_state=0).fit(X, y)
    np.testing.assert_array_equal(_output(model, X), _output(two, X))
    # warm_start continues where it stopped: 2 + 3 epochs == 5 uninterrupted
    model.set_params(callbacks=None, max_epochs=3).fit(X, y)
    assert len(model.history_) == 5
    five = cls(max_epochs=5, random_state=0).fit(X, y)
    np.testing.assert_allclose(_output(model, X), _output(five, X), atol=1e-6)
    np.testing.assert_allclose(model.history_[:, "train_loss"],
                               five.history_[:, "train_loss"], rtol=1e-5)


# ---------------------------------------------------------------------------
# checkpoints


class _RecordWeights(Callback):
    def initialize(self):
        self.weights_ = []
        return self

    def on_epoch_end(self, net, **kwargs):
        self.weights_.append(
            {k: v.detach().clone() for k, v in net.module_.state_dict().items()}
        )


def _recorded(model):
    return next(cb for _, cb in model.net_.callbacks_ if isinstance(cb, _RecordWeights))


def _assert_weights(module, state):
    for key, value in module.state_dict().items():
        torch.testing.assert_close(value, state[key], rtol=0, atol=0)


def _checkpointed(rec, tmp_path, **checkpoint):
    X, y = rec
    cp = Checkpoint(dirname=str(tmp_path / "cp"), monitor="valid_loss_best",
                    **checkpoint)
    # lr=0.1 overfits the two training worms after a few epochs, so the best
    # validation epoch is not the last one
    model = MLPClassifier(max_epochs=8, lr=0.1, train_split=ValidSplit(GroupKFold(3)),
                          callbacks=[cp, _RecordWeights()], random_state=0)
    return model.fit(X, y), cp


def test_checkpoint_restores_the_best_epoch(rec, tmp_path):
    model, cp = _checkpointed(rec, tmp_path)
    losses = model.history_[:, "valid_loss"]
    best = int(np.argmin(losses))
    assert best < len(losses) - 1
    weights = _recorded(model).weights_
    _assert_weights(model.module_, weights[-1])
    model.load_params(checkpoint=cp)
    _assert_weights(model.module_, weights[best])


def test_checkpoint_load_best_ends_fit_on_the_best_epoch(rec, tmp_path):
    model, _ = _checkpointed(rec, tmp_path, load_best=True)
    best = int(np.argmin(model.history_[:, "valid_loss"]))
    _assert_weights(model.module_, _recorded(model).weights_[best])


def test_parallel_grid_search_checkpoints_never_collide(rec, tmp_path):
    X, y = rec
    root = tmp_path / "runs"
    cp = Checkpoint(dirname=str(root), monitor="valid_loss_best", load_best=True)
    model = MLPClassifier(max_epochs=4, train_split=ValidSplit(GroupKFold(2)),
                          callbacks=[cp], random_state=0)
    search = GridSearchCV(model, {"hidden_size": [4, 8]}, cv=LeaveWormsOut(),
                          n_jobs=2, error_score="raise").fit(X, y)
    # Without per-fit folders, a hidden_size=8 fit's load_best would load (or
    # tear) a hidden_size=4 fit's params.pt: a size-mismatch error, or worse.
    folders = [p for p in root.iterdir() if p.is_dir()]
    # 2 candidates x 3 folds + the refit: every fit has its own files
    assert len(folders) == 7
    assert all((p / "params.pt").is_file() for p in folders)
    assert not (root / "params.pt").exists()
    best = search.best_estimator_
    before = best.predict_proba(X)
    best.load_params(checkpoint=cp)  # finds this fit's own (best-epoch) files
    np.testing.assert_array_equal(best.predict_proba(X), before)
    assert (root / best.checkpoint_folder_ / "params.pt").is_file()


# ---------------------------------------------------------------------------
# determinism


@pytest.mark.parametrize("cls", ESTIMATORS)
def test_same_random_state_same_predictions(rec, cls):
    X, y = training_data(cls, rec)
    first = _output(cls(max_epochs=2, random_state=7).fit(X, y), X)
    again = _output(cls(max_epochs=2, random_state=7).fit(X, y), X)
    other = _output(cls(max_epochs=2, random_state=8).fit(X, y), X)
    np.testing.assert_array_equal(first, again)
    assert not np.allclose(first, other)


_CHILD = """
import sys
import numpy as np
from wormsk.datasets import make_worms
from wormsk.models import GNNClassifier, GRURegressor
from wormsk.preprocessing import PerWormScaler, make_trajectory_targets
X, y = make_worms(n_worms=3, n_frames=60, random_state=0, return_X_y=True)
X = PerWormScaler().fit_transform(X)
X_t, Y = make_trajectory_targets(X, horizon=3)
p = GNNClassifier(max_epochs=2, edges="dynamic", random_state=7).fit(X, y)
r = GRURegressor(max_epochs=2, teacher_forcing_epochs=2, random_state=7).fit(X_t, Y)
out = np.concatenate([p.predict_proba(X).ravel(), r.predict(X_t).ravel()])
sys.stdout.write(out.astype(np.float64).tobytes().hex())
"""


def test_same_predictions_in_two_separate_processes(rec):
    X, y = rec
    X_t, Y = make_trajectory_targets(X, horizon=3)
    p = GNNClassifier(max_epochs=2, edges="dynamic", random_state=7).fit(X, y)
    # teacher forcing decays to 0 within the 2 epochs: the sampling draws matter
    r = GRURegressor(max_epochs=2, teacher_forcing_epochs=2, random_state=7)
    r.fit(X_t, Y)
    here = np.concatenate([p.predict_proba(X).ravel(), r.predict(X_t).ravel()])
    # another hash seed and thread count: nothing may depend on either
    env = dict(os.environ, PYTHONHASHSEED="123", OMP_NUM_THREADS="2")
    out = subprocess.run([sys.executable, "-c", _CHILD], capture_output=True,
                         text=True, env=env, timeout=300)
    assert out.returncode == 0, out.stderr[-2000:]
    there = np.frombuffer(bytes.fromhex(out.stdout), dtype=np.float64)
    np.testing.assert_array_equal(here, there)


# ---------------------------------------------------------------------------
# parameter files load weights-only


class _RunsCode:
    """Unpickling this runs code: it would create the file ``marker``."""

    def __init__(self, marker):
        self.marker = str(marker)

    def __reduce__(self):
        return (Path.touch, (Path(self.marker),))


@pytest.mark.parametrize("part", ["f_params", "f_optimizer", "checkpoint"])
def test_load_params_never_runs_code_from_the_file(rec, tmp_path, part):
    X, y = rec
    model = MLPClassifier(max_epochs=1, random_state=0).fit(X, y)
    marker = tmp_path / "pwned"
    evil = tmp_path / "params.pt"
    torch.save({"head.weight": _RunsCode(marker)}, evil)
    # the file really is a code-running pickle: trusted loading would run it
    torch.load(evil, weights_only=False)
    assert marker.exists()
    marker.unlink()
    before = model.predict_proba(X)
    kwargs = {part: evil}
    if part == "checkpoint":
        kwargs = {"checkpoint": Checkpoint(dirname=str(tmp_path), event_name=None,
                                           f_optimizer=None,
                                           f_criterion=None, f_history=None)}
    with pytest.raises(pickle.UnpicklingError, match="[Ww]eights only"):
        model.load_params(**kwargs)
    assert not marker.exists()
    np.testing.assert_array_equal(model.predict_proba(X), before)


def test_whole_estimator_pickles_are_documented_as_trusted_only():
    doc = " ".join(MLPClassifier.save_params.__doc__.split())
    assert "pickle" in doc and "only load files you trust" in doc
    assert "weights-only" in " ".join(MLPClassifier.load_params.__doc__.split())


# ---------------------------------------------------------------------------
# downloads


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
