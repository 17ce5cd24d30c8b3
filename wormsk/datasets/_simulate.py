"""Simulated whole-brain recordings: the embedded default dataset of wormsk.

The generative model, in order:

1. behaviour: a semi-Markov chain over the 7 Kato states with gamma-distributed
   dwell times (forward tens of seconds; slowing, reversals and turns seconds);
2. a low-dimensional latent state that follows the behaviour through first-order
   dynamics (forwardness, reversal drive, reversal onset, turning, dorsal vs ventral);
3. each neuron reads the latent through class-typical tuning, perturbed per worm
   (loadings, gain, offset; some neurons inconsistent across worms), then a
   sigmoidal rate, a calcium kernel with a per-worm time constant, photobleaching
   and noise;
4. the derivative channel is the smoothed time derivative of the trace, as in
   Kato et al. (2015).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from scipy.signal import lfilter
from sklearn.utils import Bunch, check_random_state

from ._connectome import _canonical
from ._constants import (
    KATO_SHARED_NEURONS,
    KATO_STATES,
    KATO_VOCABULARIES,
    NOSTATE,
    neuron_list,
)
from ._docs import fill_doc
from ._recordings import check_vocabulary
from ._tables import check_nostate, state_labels

# Mean dwell time (seconds) and gamma shape of every state. Forward runs last tens
# of seconds, the rest of the motor sequence a few seconds (Kato et al. 2015, Fig. 1).
_DWELL = {
    "fwd": (20.0, 2.5),
    "slow": (6.0, 3.0),
    "rev1": (4.0, 4.0),
    "rev2": (3.5, 4.0),
    "revsus": (6.0, 3.0),
    "dt": (3.5, 4.0),
    "vt": (3.5, 4.0),
}

# Transition probabilities at the end of a dwell: fwd -> slow -> rev1 -> fwd and
# fwd/slow -> rev2 -> revsus -> dt|vt -> fwd.
_NEXT = {
    "fwd": {"slow": 0.5, "rev1": 0.2, "rev2": 0.3},
    "slow": {"rev1": 0.45, "rev2": 0.45, "fwd": 0.1},
    "rev1": {"fwd": 1.0},
    "rev2": {"revsus": 1.0},
    "revsus": {"dt": 0.5, "vt": 0.5},
    "dt": {"fwd": 1.0},
    "vt": {"fwd": 1.0},
}

# Latent targets per state: forwardness, reversal drive, reversal onset (high at
# the start of a reversal that will lead to a turn), turning, dorsal(+)/ventral(-).
_LATENTS = ("forward", "reversal", "onset", "turn", "dorsoventral")
_TARGET = {
    "fwd": (1.0, 0.0, 0.0, 0.0, 0.0),
    "slow": (0.35, 0.15, 0.0, 0.0, 0.0),
    "rev1": (0.0, 0.7, 0.0, 0.0, 0.0),
    "rev2": (0.0, 1.0, 1.0, 0.0, 0.0),
    "revsus": (0.0, 1.0, 0.0, 0.2, 0.0),
    "dt": (0.1, 0.0, 0.0, 1.0, 1.0),
    "vt": (0.1, 0.0, 0.0, 1.0, -1.0),
}
# Time constants (s) of the first-order lag with which each latent follows its
# state target: the motor manifold moves smoothly, so trajectories are learnable.
_LATENT_TAU = np.array([2.0, 1.2, 1.0, 1.0, 1.0])

# Class-typical tuning over the latents: AVA, AVE, AIB, RIM up in reversals;
# AVB, RID, VB up in forward; RME with turns (RMED dorsal); ALA weak and loose.
_CLASS_TUNING = {
    "AVA": (-0.6, 2.2, 0.8, -0.3, 0.0),
    "AVE": (-0.5, 2.0, 1.0, -0.2, 0.0),
    "AIB": (-0.3, 1.6, 1.2, 0.2, 0.0),
    "RIM": (-0.4, 1.8, 0.6, 0.4, 0.0),
    "AVB": (2.0, -0.8, 0.0, 0.3, 0.0),
    "RID": (1.8, -0.5, 0.0, -0.3, 0.0),
    "VB": (1.6, -0.6, 0.0, 0.4, 0.0),
    "RME": (0.0, -0.2, 0.0, 2.0, 0.0),
    "ALA": (0.4, 0.4, 0.0, 0.0, 0.0),
    "SMDD": (0.0, 0.0, 0.0, 1.2, 1.5),
    "SMDV": (0.0, 0.0, 0.0, 1.2, -1.5),
    "RIV": (0.0, 0.3, 0.0, 1.0, -1.2),
    "RIB": (1.2, -0.5, 0.0, 0.0, 0.0),
    "RIS": (0.5, 0.0, 0.0, -0.5, 0.0),
}
# Neuron-specific twists on the class (left/right or dorsal/ventral members).
_NEURON_TUNING = {
    "RMED": (0.0, 0.0, 0.0, 1.6, 1.2),
    "RMEV": (0.0, 0.0, 0.0, 1.6, -1.2),
    "RMEL": (0.0, -0.2, 0.0, 1.9, -0.4),
    "RMER": (0.0, -0.2, 0.0, 1.9, 0.4),
}
# The 302 neurons of the adult hermaphrodite (White et al. 1986), in the
# connectome's spelling (VB1, not VB01; names are compared with _canonical).
_HERMAPHRODITE_NEURONS = frozenset(
    """
    ADAL ADAR ADEL ADER ADFL ADFR ADLL ADLR AFDL AFDR AIAL AIAR AIBL AIBR AIML
    AIMR AINL AINR AIYL AIYR AIZL AIZR ALA ALML ALMR ALNL ALNR AQR AS1 AS10 AS11
    AS2 AS3 AS4 AS5 AS6 AS7 AS8 AS9 ASEL ASER ASGL ASGR ASHL ASHR ASIL ASIR ASJL
    ASJR ASKL ASKR AUAL AUAR AVAL AVAR AVBL AVBR AVDL AVDR AVEL AVER AVFL AVFR
    AVG AVHL AVHR AVJL AVJR AVKL AVKR AVL AVM AWAL AWAR AWBL AWBR AWCL AWCR BAGL
    BAGR BDUL BDUR CANL CANR CEPDL CEPDR CEPVL CEPVR DA1 DA2 DA3 DA4 DA5 DA6 DA7
    DA8 DA9 DB1 DB2 DB3 DB4 DB5 DB6 DB7 DD1 DD2 DD3 DD4 DD5 DD6 DVA DVB DVC FLPL
    FLPR HSNL HSNR I1L I1R I2L I2R I3 I4 I5 I6 IL1DL IL1DR IL1L IL1R IL1VL IL1VR
    IL2DL IL2DR IL2L IL2R IL2VL IL2VR LUAL LUAR M1 M2L M2R M3L M3R M4 M5 MCL MCR
    MI NSML NSMR OLLL OLLR OLQDL OLQDR OLQVL OLQVR PDA PDB PDEL PDER PHAL PHAR
    PHBL PHBR PHCL PHCR PLML PLMR PLNL PLNR PQR PVCL PVCR PVDL PVDR PVM PVNL
    PVNR PVPL PVPR PVQL PVQR PVR PVT PVWL PVWR RIAL RIAR RIBL RIBR RICL RICR RID
    RIFL RIFR RIGL RIGR RIH RIML RIMR RIPL RIPR RIR RIS RIVL RIVR RMDDL RMDDR
    RMDL RMDR RMDVL RMDVR RMED RMEL RMER RMEV RMFL RMFR RMGL RMGR RMHL RMHR
    SAADL SAADR SAAVL SAAVR SABD SABVL SABVR SDQL SDQR SIADL SIADR SIAVL SIAVR
    SIBDL SIBDR SIBVL SIBVR SMBDL SMBDR SMBVL SMBVR SMDDL SMDDR SMDVL SMDVR
    URADL URADR URAVL URAVR URBL URBR URXL URXR URYDL URYDR URYVL URYVR VA1 VA10
    VA11 VA12 VA2 VA3 VA4 VA5 VA6 VA7 VA8 VA9 VB1 VB10 VB11 VB2 VB3 VB4 VB5 VB6
    VB7 VB8 VB9 VC1 VC2 VC3 VC4 VC5 VC6 VD1 VD10 VD11 VD12 VD13 VD2 VD3 VD4 VD5
    VD6 VD7 VD8 VD9
    """.split()
)

# Neurons that behave inconsistently across worms in real recordings.
_LOOSE_NEURONS = {"ALA", "RIS"}


def _tuning(name: str, rng) -> np.ndarray:
    name = _canonical(name)
    if name in _NEURON_TUNING:
        return np.array(_NEURON_TUNING[name], dtype=float)
    for prefix in sorted(_CLASS_TUNING, key=len, reverse=True):
        if name.startswith(prefix):
            return np.array(_CLASS_TUNING[prefix], dtype=float)
    # Unknown or generic neurons: most whole-brain neurons join the global motor
    # manifold weakly; a fraction are untuned.
    w = rng.normal(0.0, 0.8, size=len(_LATENTS)) * (rng.random(len(_LATENTS)) < 0.5)
    return w * (rng.random() < 0.7)


def _simulate_states(n_frames: int, fps: float, rng, dwell_scale=None) -> np.ndarray:
    """Semi-Markov state codes; ``dwell_scale`` (per state) stretches this worm's
    mean dwell times."""
    codes = {s: i for i, s in enumerate(KATO_STATES)}
    out = np.empty(n_frames, dtype=np.int8)
    # Start anywhere in the cycle, weighted towards forward.
    state = rng.choice(KATO_STATES, p=[0.4, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
    t = 0
    first = True
    while t < n_frames:
        mean, shape = _DWELL[state]
        if dwell_scale is not None:
            mean = mean * dwell_scale[codes[state]]
        dwell = rng.gamma(shape, mean / shape)
        if first:  # the recording starts mid-dwell
            dwell *= rng.random()
            first = False
        n = max(1, int(round(dwell * fps)))
        out[t : t + n] = codes[state]
        t += n
        nxt = _NEXT[state]
        state = rng.choice(list(nxt), p=list(nxt.values()))
    return out


def _latent(codes: np.ndarray, fps: float) -> np.ndarray:
    targets = np.array([_TARGET[s] for s in KATO_STATES])[codes]
    dt = 1.0 / fps
    alpha = 1.0 - np.exp(-dt / _LATENT_TAU)
    z = np.empty_like(targets)
    for k in range(targets.shape[1]):
        # x_t = x_{t-1} + alpha (target_t - x_{t-1}): first-order lag toward target
        z[:, k] = lfilter(
            [alpha[k]],
            [1.0, alpha[k] - 1.0],
            targets[:, k],
            zi=[(1 - alpha[k]) * targets[0, k]],
        )[0]
    return z


def _smooth_derivative(trace: np.ndarray, fps: float) -> np.ndarray:
    # Derivative of a lightly smoothed trace (5-frame binomial kernel). Centred,
    # like the regularized derivative Kato et al. ship, so it too sees a couple of
    # frames ahead; the Nichols reader's backward difference does not.
    kernel = np.array([1.0, 4.0, 6.0, 4.0, 1.0]) / 16.0
    pad = np.pad(trace, ((2, 2), (0, 0)), mode="edge")
    smooth = (
        kernel[0] * pad[:-4]
        + kernel[1] * pad[1:-3]
        + kernel[2] * pad[2:-2]
        + kernel[3] * pad[3:-1]
        + kernel[4] * pad[4:]
    )
    return np.gradient(smooth, axis=0) * fps


def _known_neuron(name: str) -> bool:
    # Generic names the simulator itself gives extra neurons (N015, ...) round-trip.
    return _canonical(name) in _HERMAPHRODITE_NEURONS or bool(
        re.fullmatch(r"N\d{3,}", name)
    )


def _resolve_neurons(neurons, n_neurons) -> list[str]:
    if neurons is None:
        names = list(KATO_SHARED_NEURONS)
        if n_neurons is None:
            return names
        if not isinstance(n_neurons, (int, np.integer)) or n_neurons < 1:
            raise ValueError(
                f"n_neurons must be a positive integer; got {n_neurons!r}."
            )
        if n_neurons <= len(names):
            return names[:n_neurons]
    else:
        names = neuron_list(neurons, key=_canonical)
        unknown = [n for n in names if not _known_neuron(n)]
        if unknown:
            raise ValueError(
                f"Unknown neuron name(s) {unknown}: make_worms simulates neurons of "
                "the adult hermaphrodite (e.g. AVAL, VB01, SMDVL; VB01 and VB1 are the "
                "same neuron) and its own generic names N000, N001, ...; use "
                "n_neurons for extra unnamed neurons."
            )
        if n_neurons is None:
            return names
        if not isinstance(n_neurons, (int, np.integer)) or n_neurons < len(names):
            raise ValueError(
                f"n_neurons={n_neurons!r} is smaller than the {len(names)} neurons "
                "given; it must be at least len(neurons) (extra neurons get generic "
                "names)."
            )
    width = max(3, len(str(n_neurons - 1)))
    taken = set(names)
    k = len(names)
    while len(names) < n_neurons:
        name = f"N{k:0{width}d}"
        if name not in taken:
            names.append(name)
        k += 1
    return names


@fill_doc
def make_worms(
    n_worms: int = 5,
    n_frames: int | tuple[int, int] = 3000,
    neurons=None,
    n_neurons: int | None = None,
    fps: float = 2.9,
    random_state=None,
    return_X_y: bool = False,
    variability: float = 1.0,
    noise: float = 1.0,
    *,
    disengaged: float = 0.3,
    inconsistent: float = 0.2,
    dwell_variability: float = 0.3,
    wander: float = 0.1,
    identified: float = 1.0,
    states: str = "kato7",
    nostate: str = "drop",
):
    """Simulate whole-brain calcium recordings of several worms with behaviour labels.

    Behaviour follows a semi-Markov chain over the 7 Kato states (forward runs of
    tens of seconds; slowing, reversals and turns of a few seconds). A
    low-dimensional latent state (forwardness, reversal drive, reversal onset,
    turning, dorsal vs ventral) drives every neuron through class-typical tuning
    (AVA, AVE, AIB, RIM up in reversals; AVB, RID, VB up in forward; RME with
    turns), then a calcium kernel, photobleaching and noise.

    Worms differ as real animals do, so that a decoder trained on some worms is
    measurably imperfect on others (each knob below is scaled by
    ``variability``):

    - per worm and neuron: signal gain and baseline offset (expression level of
      the calcium indicator, focal plane, background), the calcium decay time,
      the bleaching rate (imperfect bleach correction) and the noise level;
    - how strongly each neuron carries each state (log-normal spread of its
      loadings plus additive jitter), and *which* neurons carry it: in each worm
      a fraction ``disengaged`` of neurons carries its class's motor signal only
      weakly, and a fraction ``inconsistent`` follows a different mixture of the
      drives, with another sign or strength (in whole-brain recordings many
      neurons are part of the motor manifold in some animals and not in others,
      Kato et al. 2015; ALA and RIS are always inconsistent);
    - dwell times: each worm's mean dwell time of every state is scaled by its
      own factor (individuals differ in how often and how long they reverse);
    - behaviour-independent fluctuations (``wander``) of the latent drives: no two
      visits of a state look alike (e.g. reversals of different vigour).

    Parameters
    ----------
    n_worms : int, default=5
        Number of worms; their ids are ``"sim0"``, ``"sim1"``, ...
    n_frames : int or (int, int), default=3000
        Frames per worm, or a ``(low, high)`` range from which each worm's length
        is drawn (the Kato worms have 3021-3311 frames).
    neurons : list of str, optional
        Neuron names of the adult hermaphrodite (``VB01`` and ``VB1`` are the
        same neuron; unknown names raise a ``ValueError``), or the simulator's
        generic names ``N000``, ``N001``, ... Known classes (AVA, AVE, AIB, RIM,
        AVB, RID, VB, RME, SMDD, SMDV, RIV, RIB, RIS, ALA) get their typical
        tuning, other neurons a random one. Default: the 15 shared Kato neurons
        (``KATO_SHARED_NEURONS``).
    n_neurons : int, optional
        Total number of neurons. Beyond the named ones, neurons get generic names
        (``N015``, ``N016``, ...); ``n_neurons=302`` gives a whole-brain-sized
        recording.
    fps : float, default=2.9
        Frames per second.
    random_state : int, RandomState instance or None, default=None
        Seed; the same seed gives the same recordings.
    return_X_y : bool, default=False
        Return ``(data, target)`` instead of a Bunch.
    variability : float, default=1.0
        Scale of all individual differences between worms (0: all worms share the
        same neuron parameters and dwell times; behaviour still differs).
    noise : float, default=1.0
        Scale of the measurement noise, whose standard deviation is about 0.08
        (log-normal across worms and neurons) against a full response of about
        1.2: a signal-to-noise ratio of 5 to 30, the range of GCaMP6 whole-brain
        recordings at about 3 frames/s.
    disengaged : float, default=0.3
        Fraction of neurons that, in a given worm, carry their class's motor
        signal at a fifth of its strength.
    inconsistent : float, default=0.2
        Fraction of neurons whose tuning is redrawn in a given worm (another mix
        of the drives, with random sign and strength).
    dwell_variability : float, default=0.3
        Standard deviation of the per-worm, per-state log scale of mean dwell
        times (0.3: a worm's mean reversal lasts 0.55 to 1.8 times the
        population mean, 95 % range).
    wander : float, default=0.1
        Amplitude of the slow (5 s) behaviour-independent fluctuations of the
        latent drives, relative to the difference between states (1).
    identified : float, default=1.0
        Share of the neurons each worm identifies, as in NeuroPAL recordings
        where every worm names another subset: each worm identifies
        ``max(1, round(identified * n_neurons))`` neurons drawn at random (from
        the seed, on a stream of its own, so the identified neurons' values
        are those of the fully identified simulation); the others are NaN in
        every frame of that worm (the data contract's rule for an absent
        neuron). At small shares a neuron may be absent from every worm.
    %(datasets_states_kato)s
        As the Kato reader gives them, so that code written for
        :func:`load_kato2015` runs on simulated worms unchanged.
    %(datasets_nostate)s

    Returns
    -------
    data : Bunch
        ``data``: DataFrame indexed by (``worm``, ``frame``) with columns
        ``<NEURON>_trace``, ``<NEURON>_deriv`` (neuron-major); ``target``: array of
        state names; ``groups``: array of worm ids; ``neuron_names``;
        ``target_names`` (the ``states`` vocabulary, ``KATO_STATES`` by
        default, and ``"nostate"`` with ``nostate="label"``); ``fps``;
        ``frame`` (data with a ``state`` column); ``latent`` (DataFrame of the
        noise-free latent state that follows the behaviour; the neurons read it
        plus the ``wander`` fluctuations); ``worm_params`` (DataFrame, one row
        per worm and neuron: ``gain``, ``offset``, ``noise_sd``,
        ``disengaged``, ``inconsistent``, ``loading`` (norm of the neuron's
        loadings), ``tau_bleach``);
        ``dwell_scale`` (DataFrame, worms x states); ``absent`` (worm ->
        neurons NaN in that worm, as the recording-table builders give it);
        ``DESCR``.
    (data, target) : tuple
        If ``return_X_y`` is True.

    Examples
    --------
    >>> from wormsk.datasets import make_worms
    >>> X, y = make_worms(n_worms=2, n_frames=500, random_state=0, return_X_y=True)
    >>> X.shape
    (1000, 30)
    >>> list(X.columns[:2])
    ['AIBL_trace', 'AIBL_deriv']
    >>> bunch = make_worms(n_worms=3, n_frames=100, random_state=0)
    >>> bool(bunch.worm_params.loc[("sim0", "AVAL"), "gain"] > 0)
    True
    >>> X, y = make_worms(n_worms=2, n_frames=300, random_state=0,
    ...                   states="fwd_rev", return_X_y=True)
    >>> sorted(set(y)), len(X) < 600  # turns are left out
    (['forward', 'reverse'], True)
    >>> part = make_worms(n_worms=2, n_frames=100, random_state=0, identified=0.8)
    >>> [len(names) for names in part.absent.values()]
    [3, 3]
    """
    if not isinstance(n_worms, (int, np.integer)) or n_worms < 1:
        raise ValueError(f"n_worms must be a positive integer; got {n_worms!r}.")
    if np.ndim(n_frames) == 0:
        lengths_range = (n_frames, n_frames)
    else:
        lengths_range = tuple(n_frames)
    if (
        len(lengths_range) != 2
        or not all(isinstance(v, (int, np.integer)) for v in lengths_range)
        or lengths_range[0] < 2
        or lengths_range[1] < lengths_range[0]
    ):
        raise ValueError(
            f"n_frames must be an integer >= 2 or a (low, high) pair of such integers; "
            f"got {n_frames!r}."
        )
    check_vocabulary(states, KATO_VOCABULARIES)
    check_nostate(nostate)
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps must be a positive number; got {fps!r}.")
    for pname, value in (
        ("variability", variability),
        ("noise", noise),
        ("dwell_variability", dwell_variability),
        ("wander", wander),
    ):
        if not np.isfinite(value) or value < 0:
            raise ValueError(f"{pname} must be a non-negative number; got {value!r}.")
    for pname, value in (("disengaged", disengaged), ("inconsistent", inconsistent)):
        if not 0 <= value <= 1:
            raise ValueError(f"{pname} must be a fraction in [0, 1]; got {value!r}.")
    if not isinstance(identified, (int, float, np.number)) or not 0 < identified <= 1:
        raise ValueError(
            f"identified must be the share in (0, 1] of neurons each worm "
            f"identifies; got {identified!r}."
        )
    names = _resolve_neurons(neurons, n_neurons)
    n = len(names)
    # Generator API (gamma, integers); seeded from sklearn's random_state handling.
    seed = check_random_state(random_state).randint(np.iinfo(np.int32).max)
    rng = np.random.default_rng(seed)
    n_lat = len(_LATENTS)
    v = variability

    # Population-level tuning, shared by all worms.
    base = np.stack([_tuning(name, rng) for name in names])  # (n, n_lat)
    base_offset = rng.normal(-1.2, 0.3, size=n)
    loose = np.array([_canonical(name) in _LOOSE_NEURONS for name in names])

    traces, derivs, targets, latents, worm_ids, frames = [], [], [], [], [], []
    params, dwell_scales = [], []
    for w in range(n_worms):
        T = int(rng.integers(lengths_range[0], lengths_range[1] + 1))
        dwell_scale = np.exp(v * dwell_variability * rng.standard_normal(len(_DWELL)))
        codes = _simulate_states(T, fps, rng, dwell_scale)
        z = _latent(codes, fps)
        # Slow internal fluctuations of the latent drives (stationary AR(1),
        # 5 s time constant), so no two visits of a state look alike.
        rho = np.exp(-1.0 / (fps * 5.0))
        fluct = lfilter(
            [np.sqrt(1.0 - rho**2)],
            [1.0, -rho],
            rng.standard_normal(z.shape),
            axis=0,
            zi=rho * rng.standard_normal((1, n_lat)),
        )[0]
        z_noisy = z + wander * fluct

        # Per-worm loadings: every weight scaled and jittered; the mapping from
        # neurons to the manifold differs between worms.
        scale = np.exp(v * rng.normal(0.0, 0.35, size=(n, 1)))
        W = base * scale + v * rng.normal(0.0, 0.35, size=(n, n_lat))
        # Which neurons carry the motor signal in this worm: some only weakly,
        # some follow another mixture (loose neurons always re-drawn).
        weak = rng.random(n) < min(1.0, v * disengaged)
        W[weak] *= 0.2
        flip = loose | (rng.random(n) < min(1.0, v * inconsistent))
        if v > 0 and flip.any():
            W[flip] = rng.normal(0.0, 1.2, size=(flip.sum(), n_lat)) * (
                rng.random((flip.sum(), n_lat)) < 0.5
            )
        bias = base_offset + v * rng.normal(0.0, 0.5, size=n)
        drive = z_noisy @ W.T + bias
        rate = 1.0 / (1.0 + np.exp(-3.0 * drive))

        # Calcium kernel: first-order decay with a per-worm time constant (s).
        tau_ca = 1.0 * np.exp(v * rng.normal(0.0, 0.25))
        a = np.exp(-1.0 / (fps * tau_ca))
        calcium = lfilter([1.0 - a], [1.0, -a], rate, axis=0, zi=(a * rate[:1]))[0]

        # Fluorescence: per-worm/per-neuron gain and baseline; bleaching shrinks
        # the signal over the recording (imperfect bleach correction).
        gain = np.exp(
            np.log(1.2) + v * (rng.normal(0.0, 0.5) + rng.normal(0.0, 0.6, size=n))
        )
        offset = v * (rng.normal(0.0, 0.6) + rng.normal(0.0, 0.8, size=n))
        t_sec = np.arange(T) / fps
        tau_bleach = np.exp(rng.normal(np.log(3000.0), 0.5 * v + 1e-9, size=n))
        bleach = np.exp(-t_sec[:, None] / tau_bleach)
        sigma = (
            noise
            * 0.08
            * np.exp(v * rng.normal(0.0, 0.3))
            * np.exp(v * rng.normal(0.0, 0.4, size=n))
        )
        trace = offset + gain * calcium * bleach + sigma * rng.standard_normal((T, n))

        traces.append(trace)
        derivs.append(_smooth_derivative(trace, fps))
        targets.append(np.asarray(KATO_STATES, dtype=object)[codes])
        latents.append(z)
        worm_ids.append(np.full(T, f"sim{w}", dtype=object))
        frames.append(np.arange(T))
        params.append(
            pd.DataFrame(
                {
                    "gain": gain,
                    "offset": offset,
                    "noise_sd": sigma,
                    "disengaged": weak & ~flip,
                    "inconsistent": flip if v > 0 else np.zeros(n, dtype=bool),
                    "loading": np.linalg.norm(W, axis=1),
                    "tau_bleach": tau_bleach,
                },
                index=pd.MultiIndex.from_product(
                    [[f"sim{w}"], names], names=["worm", "neuron"]
                ),
            )
        )
        dwell_scales.append(dwell_scale)

    trace = np.concatenate(traces)
    deriv = np.concatenate(derivs)
    values = np.empty((trace.shape[0], 2 * n))
    values[:, 0::2] = trace
    values[:, 1::2] = deriv
    columns = [f"{name}_{ch}" for name in names for ch in ("trace", "deriv")]
    groups = np.concatenate(worm_ids)
    index = pd.MultiIndex.from_arrays(
        [groups, np.concatenate(frames)], names=["worm", "frame"]
    )
    absent = _unidentify(values, groups, names, identified, seed)
    data = pd.DataFrame(values, index=index, columns=columns, copy=False)
    latent = pd.DataFrame(
        np.concatenate(latents), index=index, columns=list(_LATENTS), copy=False
    )
    # Relabelled as the Kato reader relabels (the simulation has no nostate).
    mapping = "raw" if states == "kato7" else states
    target, keep = state_labels(np.concatenate(targets), mapping, nostate)
    if not keep.all():
        data, latent, target, groups = (
            data[keep], latent[keep], target[keep], groups[keep]
        )
    target_names = list(KATO_VOCABULARIES[states])
    if nostate == "label":
        target_names.append(NOSTATE)
    if return_X_y:
        return data, target
    return Bunch(
        data=data,
        target=target,
        groups=groups,
        neuron_names=list(names),
        target_names=target_names,
        fps=float(fps),
        frame=data.assign(state=target),
        latent=latent,
        worm_params=pd.concat(params),
        dwell_scale=pd.DataFrame(
            np.array(dwell_scales),
            index=pd.Index([f"sim{w}" for w in range(n_worms)], name="worm"),
            columns=list(KATO_STATES),
        ),
        absent=absent,
        DESCR=_DESCR,
    )


def _unidentify(values, groups, names, identified, seed) -> dict[str, list[str]]:
    """Set each worm's unidentified neurons to NaN in place; worm -> their names."""
    worms = list(pd.unique(groups))
    if identified >= 1:
        return {w: [] for w in worms}
    # A stream of its own: the draws of the simulation itself stay as they are.
    rng = np.random.default_rng([seed, 1])
    n = len(names)
    keep = max(1, int(round(identified * n)))
    absent = {}
    for w in worms:
        lost = np.sort(rng.permutation(n)[keep:])
        rows = np.flatnonzero(groups == w)
        for i in lost:
            values[rows, 2 * i : 2 * i + 2] = np.nan
        absent[w] = [names[i] for i in lost]
    return absent


_DESCR = """Simulated whole-brain C. elegans recordings (wormsk.datasets.make_worms)
---------------------------------------------------------------------------
Behaviour: semi-Markov chain over the 7 Kato et al. (2015) states (fwd, slow, rev1,
rev2, revsus, dt, vt) with gamma dwell times (mean: forward 20 s, others 3.5-6 s).
Neural activity: 5 latent drives (forward, reversal, reversal onset, turn,
dorsal/ventral) -> class-typical tuning perturbed per worm -> sigmoid rate ->
calcium kernel (per-worm time constant ~1 s) -> photobleaching -> noise.
Features: per neuron the trace (<NEURON>_trace) and its smoothed time derivative
(<NEURON>_deriv, per second). Worms differ in loadings, gains, offsets, calcium
kernel, bleaching, noise and dwell times; in each worm some neurons carry their
motor signal only weakly and some follow another mix of the drives, so per-worm
normalization is needed to generalize to unseen worms, and even then decoders
stay below ceiling.
"""
