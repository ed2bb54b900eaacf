"""Speed of the scoring engine against bare numpy and against pymcdm, on the same matrices.

    .venv/bin/pip install -r benchmarks/requirements.txt   # pymcdm, for comparison only
    .venv/bin/python benchmarks/engine.py

Prints the median of repeated runs for each variant, and the ratios the targets speak of.
"""

import sys
import timeit
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from scoring import engine


def median_ms(function, repeat: int = 15) -> float:
    function()  # warm-up
    runs = timeit.repeat(function, number=1, repeat=repeat)
    return float(np.median(runs) * 1000)


def main() -> None:
    rng = np.random.default_rng(2026)
    matrix = rng.uniform(1, 5, size=(10_000, 6))
    weights = rng.uniform(0.05, 1, size=6)
    weights /= weights.sum()
    benefit = np.ones(6, dtype=bool)

    def bare_weighted_rank():
        scores = matrix @ weights
        order = np.argsort(-scores)
        ranks = np.empty(len(scores), dtype=np.int64)
        ranks[order] = np.arange(1, len(scores) + 1)
        return ranks

    def bare_topsis():
        weighted = matrix / np.linalg.norm(matrix, axis=0) * weights
        best, worst = weighted.max(axis=0), weighted.min(axis=0)
        plus = np.linalg.norm(weighted - best, axis=1)
        minus = np.linalg.norm(weighted - worst, axis=1)
        return minus / (plus + minus)

    results = {
        "rank(weighted_sum) engine": median_ms(lambda: engine.rank(engine.weighted_sum(matrix, weights))),
        "rank(weighted_sum) bare numpy": median_ms(bare_weighted_rank),
        "topsis engine": median_ms(lambda: engine.topsis(matrix, weights, benefit)),
        "topsis bare numpy": median_ms(bare_topsis),
    }
    try:
        from pymcdm.methods import TOPSIS, WSM
        from pymcdm.normalizations import vector_normalization

        types = np.ones(6)
        results["rank(WSM) pymcdm"] = median_ms(lambda: WSM().rank(WSM()(matrix, weights, types)), repeat=5)
        topsis = TOPSIS(normalization_function=vector_normalization)
        results["topsis pymcdm"] = median_ms(lambda: topsis(matrix, weights, types), repeat=5)
    except ImportError:
        print("pymcdm is not installed: pip install -r benchmarks/requirements.txt")

    print("10,000 alternatives x 6 criteria, median of repeated runs")
    for name, value in results.items():
        print(f"  {name:<32} {value:9.3f} ms")
    print(
        f"  engine / bare numpy, rank(weighted_sum): {results['rank(weighted_sum) engine'] / results['rank(weighted_sum) bare numpy']:.2f}x"
    )
    print(f"  engine / bare numpy, topsis:             {results['topsis engine'] / results['topsis bare numpy']:.2f}x")
    if "topsis pymcdm" in results:
        print(
            f"  pymcdm / engine, rank(WSM):              {results['rank(WSM) pymcdm'] / results['rank(weighted_sum) engine']:.1f}x"
        )
        print(f"  pymcdm / engine, topsis:                 {results['topsis pymcdm'] / results['topsis engine']:.1f}x")

    small = rng.uniform(1, 5, size=(500, 6))

    def straightforward_acceptability():
        drawn = engine.sample_weights(weights, 10_000, 100.0, 1)
        positions = np.argsort(np.argsort(-(drawn @ small.T), axis=1), axis=1)
        counts = np.zeros((500, 500))
        np.add.at(counts, (np.broadcast_to(np.arange(500), positions.shape), positions), 1)
        return counts / 10_000

    fast = median_ms(lambda: engine.rank_acceptability(small, weights, 10_000, 100.0, 1), repeat=5)
    slow = median_ms(straightforward_acceptability, repeat=5)
    print("rank_acceptability, 500 x 6, 10,000 samples")
    print(f"  engine                           {fast:9.1f} ms")
    print(f"  argsort of argsort + add.at      {slow:9.1f} ms   ({slow / fast:.1f}x slower)")


if __name__ == "__main__":
    main()
