"""Prediction throughput: frames per second of ``predict``, input validation included.

Models are fitted briefly on 5 simulated worms (the weights do not change the
cost); then ``predict`` is timed on one unseen worm of 3000 frames x 15 neurons
(a DataFrame indexed by worm and frame, as a user passes it) and on 100 unseen
worms of 3000 frames each in one call. ``forward only`` is the network on the
already validated float32 tensor, to show what validation and the
DataFrame-to-tensor conversion cost.

Run: ``python benchmarks/bench_predict.py [--repeats 5]``.
"""

from __future__ import annotations

import numpy as np
import torch
from _common import begin, median, parser, repeat, report

from wormsk.datasets import make_worms
from wormsk.models import GNNClassifier, MLPClassifier


def main():
    p = parser(__doc__.splitlines()[0])
    p.add_argument("--many", type=int, default=100, help="worms of the large call")
    args = p.parse_args()
    repeats = 2 if args.quick else args.repeats
    many = 10 if args.quick else args.many

    info = begin()
    X_train, y_train = make_worms(n_worms=5, n_frames=3000, random_state=0,
                                  return_X_y=True)
    X_one, _ = make_worms(n_worms=1, n_frames=3000, random_state=1,
                          return_X_y=True)
    X_many, _ = make_worms(n_worms=many, n_frames=3000, random_state=2,
                           return_X_y=True)
    models = {
        "MLPClassifier": MLPClassifier(max_epochs=2, random_state=0),
        "GNNClassifier static": GNNClassifier(max_epochs=2, random_state=0),
        "GNNClassifier dynamic": GNNClassifier(max_epochs=2, edges="dynamic",
                                               random_state=0),
    }
    rows = []
    for name, clf in models.items():
        clf.fit(X_train, y_train)
        one = repeat(lambda clf=clf: clf.predict(X_one), repeats)
        x3 = torch.tensor(X_one.to_numpy(np.float32)).view(len(X_one), 15, 2)
        module = clf.module_.eval()

        def forward(module=module, x3=x3):
            with torch.no_grad():
                module(x3)

        previous = torch.get_num_threads()
        torch.set_num_threads(1)  # as predict does
        try:
            fwd = repeat(forward, repeats)
        finally:
            torch.set_num_threads(previous)
        big = repeat(lambda clf=clf: clf.predict(X_many), max(1, repeats // 2))
        rows.append({
            "model": name,
            "1 worm s": median(one),
            "1 worm frames/s": round(len(X_one) / median(one)),
            "forward only s": median(fwd),
            f"{many} worms s": median(big),
            f"{many} worms frames/s": round(len(X_many) / median(big)),
            "runs": {"one": one, "forward": fwd, "many": big},
        })
    columns = ["model", "1 worm s", "1 worm frames/s", "forward only s",
               f"{many} worms s", f"{many} worms frames/s"]
    report("predict", info, rows, columns,
           {"repeats": repeats, "n_frames": 3000, "n_neurons": 15,
            "many_worms": many}, args.no_save)


if __name__ == "__main__":
    main()
