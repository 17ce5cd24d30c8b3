"""wormsk: graph neural networks for whole-brain C. elegans imaging, the sklearn way.

wormsk turns the models of Wang et al. (2021), "Generalizable Machine Learning in
Neuroscience Using Graph Neural Networks", into scikit-learn estimators: classify a
worm's behavioural state frame by frame and forecast neuron-level trajectories, with
per-worm normalization so that models generalize to worms never seen in training.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
