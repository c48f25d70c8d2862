"""Training speed of BERT shapes on this CPU, fp32 and bf16 autocast: the measurement behind the
released models' size (docs/PRETRAINING.md). One thread, 32 windows of 256 tokens, 15 % masked,
the MLM head on masked positions only (as `pretrain` trains); the mean of steps 3-6.

    python benchmarks/shapes.py [--threads 1] [--steps 6]

Run it on an idle machine: a shared core gives meaningless figures.
"""

from __future__ import annotations

import argparse
import os
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from host import cpu_name  # noqa: E402

SHAPES = [(2, 64, 128), (4, 128, 512), (4, 256, 1024), (6, 256, 1024), (6, 384, 1536)]


def tokens_per_second(layers: int, hidden: int, ffn: int, bf16: bool, steps: int, batch: int = 32,
                      length: int = 256) -> tuple[float, int]:
    import torch
    from transformers import BertConfig

    from genobert.mlm import MaskedHeadBertForMaskedLM

    torch.manual_seed(0)
    config = BertConfig(vocab_size=64, hidden_size=hidden, num_hidden_layers=layers,
                        num_attention_heads=max(hidden // 64, 1), intermediate_size=ffn,
                        max_position_embeddings=1026, hidden_dropout_prob=0, attention_probs_dropout_prob=0)
    config._attn_implementation = "sdpa"
    model = MaskedHeadBertForMaskedLM(config)
    opt = torch.optim.AdamW(model.parameters(), 1e-3)
    ids = torch.randint(5, 30, (batch, length))
    labels = torch.where(torch.rand(batch, length) < 0.15, ids, -100)
    for i in range(steps):
        if i == 2:
            start = time.perf_counter()
        with torch.autocast("cpu", torch.bfloat16, enabled=bf16):
            loss = model(input_ids=ids, attention_mask=torch.ones_like(ids), labels=labels).loss
        loss.backward()
        opt.step()
        opt.zero_grad()
    return batch * length * (steps - 2) / (time.perf_counter() - start), sum(p.numel() for p in model.parameters())


def main() -> None:
    import torch

    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--threads", type=int, default=1)
    p.add_argument("--steps", type=int, default=6)
    args = p.parse_args()
    torch.set_num_threads(args.threads)
    print(f"{cpu_name()}; {args.threads} thread(s); load average {os.getloadavg()[0]:.2f}; torch {torch.__version__}\n")
    print("| layers x hidden | parameters | fp32 tokens/s | bf16 tokens/s | bf16 / fp32 | tokens in 2 core-hours (bf16) | tokens per parameter |")
    print("|---|---:|---:|---:|---:|---:|---:|")
    for layers, hidden, ffn in SHAPES:
        fp32, n = tokens_per_second(layers, hidden, ffn, False, args.steps)
        bf16, _ = tokens_per_second(layers, hidden, ffn, True, args.steps)
        budget = bf16 * 7200 * args.threads
        print(f"| {layers} x {hidden} | {n:,} | {fp32:,.0f} | {bf16:,.0f} | {bf16 / fp32:.2f} | "
              f"{budget / 1e6:,.0f} M | {budget / n:,.0f} |")


if __name__ == "__main__":
    main()
