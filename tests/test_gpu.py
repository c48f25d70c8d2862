"""The CUDA paths: bf16 training with fused AdamW, data-loading workers, torch.compile, and
inference in bf16 autocast against the CPU in fp32. Skipped where there is no CUDA GPU (CI);
run on a GPU machine with ``python -m pytest -q tests/test_gpu.py``."""

from __future__ import annotations

import json
import os

import numpy as np
import pytest
import torch

from genobert.infer import classify, embed
from genobert.train import finetune, pretrain

pytestmark = [pytest.mark.skipif(not torch.cuda.is_available(), reason="needs a CUDA GPU"),
              pytest.mark.usefixtures("private_cache")]  # corpus, labelled: conftest.py

TINY = dict(preset="tiny", seq_len=64, batch_size=16, logging_steps=5, lr=2e-3)


def test_pretrain_on_cuda_in_bf16_with_workers_and_compile(corpus, tmp_path):
    out = pretrain(corpus, str(tmp_path / "pre"), max_steps=60, **TINY)
    meta = json.load(open(os.path.join(out, "genobert.json")))
    losses = [h["loss"] for h in json.load(open(os.path.join(out, "log_history.json"))) if "loss" in h]
    assert np.mean(losses[-3:]) < 0.8 * losses[0]
    assert meta["training"]["metrics"]["tokens_per_second_steady"] > 0
    compiled = pretrain(corpus, str(tmp_path / "compiled"), max_steps=20, compile=True, **TINY)
    assert os.path.exists(os.path.join(compiled, "model.safetensors"))


def test_cuda_bf16_classify_and_embed_agree_with_cpu_fp32(labelled, tmp_path):
    model = finetune(labelled, str(tmp_path / "clf"), preset="tiny", epochs=3, max_len=34, lr=1e-3)
    gpu = np.array([p.probs for p in classify(model, labelled, device="cuda")])  # auto: bf16
    cpu = np.array([p.probs for p in classify(model, labelled, device="cpu", precision="fp32")])
    np.testing.assert_allclose(gpu, cpu, atol=0.02)
    v_gpu = np.array([v for _, _, v in embed(model, labelled, device="cuda", precision="fp32")])
    v_cpu = np.array([v for _, _, v in embed(model, labelled, device="cpu", precision="fp32")])
    np.testing.assert_allclose(v_gpu, v_cpu, atol=1e-3)
