"""FLOPs of a BERT per token and the matmul rate measured on this machine, for the benchmarks'
"how close to the machine's limit" columns (`pretrain.py`, `classify.py`).

A forward pass costs 2·N + 4·L·s·d FLOPs per token and a training step three times that,
6·N + 12·L·s·d (N the non-embedding parameters, L layers, s the sequence length, d the width):
the count of the performance issue. The ceiling is one square matmul timed here, the rate the
matrix units reach on the most favourable shape.
"""

from __future__ import annotations

import time

import torch


def non_embedding_params(model) -> int:
    return sum(p.numel() for n, p in model.named_parameters() if "embeddings" not in n)


def flops_per_token(model, seq_len: int, *, training: bool) -> float:
    config = model.config
    forward = 2 * non_embedding_params(model) + 4 * config.num_hidden_layers * seq_len * config.hidden_size
    return 3 * forward if training else forward


def matmul_ceiling(device: str, dtype: torch.dtype) -> tuple[float, str]:
    """FLOP/s of one square matmul (8192³ on a GPU, 2048³ on a CPU) in ``dtype``, and its name."""
    cuda = device == "cuda"
    size = 8192 if cuda else 2048
    a = torch.randn(size, size, device=device, dtype=dtype)
    b = torch.randn(size, size, device=device, dtype=dtype)
    for _ in range(2):
        a @ b
    if cuda:
        torch.cuda.synchronize()
    reps, start = 10 if cuda else 3, time.perf_counter()
    for _ in range(reps):
        a @ b
    if cuda:
        torch.cuda.synchronize()
    seconds = (time.perf_counter() - start) / reps
    return 2 * size**3 / seconds, f"{str(dtype).removeprefix('torch.')} {size}³ matmul"
