"""Sampling throughput: seconds of timed calls, images a second."""

import time
from typing import Callable, List

import torch


def timed_calls(fn: Callable[[], object], repeats: int) -> List[float]:
    """Seconds of ``repeats`` calls after one warm-up call, synchronising CUDA around each."""
    fn()
    times = []
    for _ in range(repeats):
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        start = time.perf_counter()
        fn()
        if torch.cuda.is_available():
            torch.cuda.synchronize()
        times.append(time.perf_counter() - start)
    return times


def images_per_second(sample: Callable[[], torch.Tensor], n_images: int, repeats: int) -> float:
    """Best-of-``repeats`` throughput."""
    return n_images / min(timed_calls(sample, repeats))
