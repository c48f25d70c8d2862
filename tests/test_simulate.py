"""The simulated grammar keeps its promises: label = arrangement, and half the negatives share
the promoters' k-mers."""

from __future__ import annotations

import re

from genobert.simulate import BOX10, BOX35, SPACING, genome, sequences, write_demo_data

PROMOTER = re.compile(f"{BOX35}[ACGT]{{{SPACING[0]},{SPACING[1]}}}{BOX10}")


def test_label_is_the_arrangement():
    seqs, labels = sequences(2000, 64, seed=5)
    assert sum(labels) == 1000 and {len(s) for s in seqs} == {64}
    for s, y in zip(seqs, labels, strict=True):
        assert bool(PROMOTER.search(s)) == bool(y) or (not y and BOX35 in s and BOX10 in s)
    neg_both = [s for s, y in zip(seqs, labels, strict=True) if not y and BOX35 in s and BOX10 in s]
    assert 0.4 < len(neg_both) / 1000 < 0.6  # same k-mers as a promoter, only context differs
    assert sum(bool(PROMOTER.search(s)) for s in neg_both) <= 5  # a chance arrangement is rare


def test_seeded_and_written(tmp_path):
    assert sequences(10, seed=1) == sequences(10, seed=1) != sequences(10, seed=2)
    g = genome(20_000, seed=0)
    assert len(g) == 20_000 and len(PROMOTER.findall(g)) > 100
    paths = write_demo_data(str(tmp_path), train=50)
    assert open(paths["train"]).readline() == "id\tsequence\tlabel\n"
    assert sum(1 for _ in open(paths["train"])) == 51 and "simulated" in open(paths["genome"]).readline()
