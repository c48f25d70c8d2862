"""Every script in examples/ runs on a clone, at a small size."""

from __future__ import annotations

import os
import subprocess
import sys

EXAMPLES = os.path.join(os.path.dirname(__file__), "..", "examples")


def run(script: str, *args: str, tmp_path) -> str:
    env = {**os.environ, "GENOBERT_CACHE": str(tmp_path / "cache"), "OMP_NUM_THREADS": "1"}
    res = subprocess.run([sys.executable, os.path.join(EXAMPLES, script), *args], env=env, cwd=tmp_path,
                         capture_output=True, text=True, timeout=600)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


def test_make_simulated_rewrites_the_committed_files_exactly(tmp_path):
    run("make_simulated.py", str(tmp_path), tmp_path=tmp_path)
    for name in ("simulated.fa", "simulated.tsv"):
        with open(os.path.join(EXAMPLES, name), "rb") as committed:
            assert (tmp_path / name).read_bytes() == committed.read(), name


def test_contextual_embeddings_on_a_model(models, tmp_path):
    out = run("contextual_embeddings.py", models["pre"], "--out", str(tmp_path / "c.png"), tmp_path=tmp_path)
    assert "layer 0 (input embeddings): cosine similarity" in out and "last layer:" in out
