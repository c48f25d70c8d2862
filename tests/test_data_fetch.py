"""`genobert data fetch` of a converted dataset: upstream files from a local HTTP server, each
checked, converted, every written TSV checked before anything is kept."""

from __future__ import annotations

import hashlib
import json

import pytest

from genobert.convert import CONVERTERS, split_grouped
from genobert.errors import InputError
from genobert.manifests import fetch, load_manifests, verify

NAME = "prot_antimicrobial_peptide_veltri2018"  # a real converter, run on tiny fake upstream files
REPO, COMMIT = "someone/amp", "c0ffee" * 6 + "c0ff"
UPSTREAM = {  # path in the fake upstream repository: content
    "data/AMP.tr.fa": ">AP1\nGLFD\nIL\n>AP2\nKWKL\n",
    "data/DECOY.tr.fa": ">UniRef50_X some protein\nmkl\n",
    "data/AMP.eval.fa": ">AP3\nFLPL\n",
    "data/DECOY.eval.fa": ">UniRef50_Y\nAAAA\n",
    "data/AMP.te.fa": ">AP4\nRRWW\n",
    "data/DECOY.te.fa": ">UniRef50_Z\nCCCC\n",
}
EXPECTED = {  # what the converter must write (golden)
    "train.tsv": "id\tsequence\tlabel\nAP1\tGLFDIL\t1\nAP2\tKWKL\t1\nUniRef50_X\tMKL\t0\n",
    "valid.tsv": "id\tsequence\tlabel\nAP3\tFLPL\t1\nUniRef50_Y\tAAAA\t0\n",
    "test.tsv": "id\tsequence\tlabel\nAP4\tRRWW\t1\nUniRef50_Z\tCCCC\t0\n",
}


def _sha(text: str | bytes) -> str:
    return hashlib.sha256(text.encode() if isinstance(text, str) else text).hexdigest()


@pytest.fixture
def fake(server, tmp_path, monkeypatch):
    """A manifest folder holding one converted dataset, its upstream files on a local server."""
    root, base = server
    for path, text in UPSTREAM.items():
        dest = root / REPO / COMMIT / path
        dest.parent.mkdir(parents=True, exist_ok=True)
        dest.write_text(text)
    monkeypatch.setenv("GENOBERT_UPSTREAM", base)
    folder = tmp_path / "manifests"
    folder.mkdir()

    def write_manifest(files: dict[str, str] = EXPECTED, upstream: dict[str, str] = UPSTREAM):
        info = {"name": NAME, "source": f"`{REPO}` @ `{COMMIT}`",
                "files": [{"name": n, "sha256": _sha(t), "bytes": len(t), "records": 1}
                          for n, t in files.items()],
                "upstream": [{"repo": REPO, "commit": COMMIT, "path": p, "sha256": _sha(t),
                              "bytes": len(t)} for p, t in upstream.items()]}
        (folder / f"{NAME}.json").write_text(json.dumps(info))

    write_manifest()
    return root, folder, tmp_path / "data", write_manifest, base


def _contents(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.iterdir()}


def test_fetch_downloads_converts_and_checks(fake):
    _, folder, data, *_ = fake
    target = data / NAME
    target.mkdir(parents=True)
    (target / "notes.txt").write_text("mine\n")
    paths = fetch(NAME, data, folder=folder)
    assert paths == [target / n for n in EXPECTED]
    assert _contents(target) == {"notes.txt": b"mine\n", **{n: t.encode() for n, t in EXPECTED.items()}}
    assert all(s == "ok" for *_, s in verify(data, [NAME], folder=folder))


def test_correct_files_are_not_downloaded_again(fake, monkeypatch):
    _, folder, data, _, base = fake
    fetch(NAME, data, folder=folder)
    kept = (data / NAME / "train.tsv").stat().st_ino
    monkeypatch.setenv("GENOBERT_UPSTREAM", "http://127.0.0.1:9")  # nothing listens there
    assert len(fetch(NAME, data, folder=folder)) == 3  # all present and correct: no download
    (data / NAME / "test.tsv").unlink()
    with pytest.raises(InputError, match="cannot download http://127.0.0.1:9/someone/amp/"):
        fetch(NAME, data, folder=folder)
    monkeypatch.setenv("GENOBERT_UPSTREAM", base)
    fetch(NAME, data, folder=folder)
    assert (data / NAME / "test.tsv").read_text() == EXPECTED["test.tsv"]
    assert (data / NAME / "train.tsv").stat().st_ino == kept  # the correct file was left alone


def test_tampered_upstream_file_is_refused_and_nothing_kept(fake):
    root, folder, data, *_ = fake
    target = data / NAME
    target.mkdir(parents=True)
    (target / "notes.txt").write_text("mine\n")
    (root / REPO / COMMIT / "data/DECOY.te.fa").write_text(">UniRef50_Z\nCCCA\n")
    with pytest.raises(InputError, match=r"DECOY\.te\.fa: downloaded sha256 \w+ does not match"):
        fetch(NAME, data, folder=folder)
    assert _contents(target) == {"notes.txt": b"mine\n"}  # untouched, no temporary folder left


def test_a_copy_that_differs_is_never_overwritten(fake):
    _, folder, data, *_ = fake
    target = data / NAME
    target.mkdir(parents=True)
    (target / "train.tsv").write_text("an old copy\n")
    with pytest.raises(InputError, match="train.tsv: already there and not the manifest's file"):
        fetch(NAME, data, folder=folder)
    assert _contents(target) == {"train.tsv": b"an old copy\n"}


def test_converted_file_that_differs_is_refused_and_nothing_kept(fake):
    _, folder, data, write_manifest, _ = fake
    write_manifest({**EXPECTED, "valid.tsv": EXPECTED["valid.tsv"] + "AP9\tKK\t1\n"})
    with pytest.raises(InputError, match=r"valid\.tsv: converted sha256 \w+ does not match"):
        fetch(NAME, data, folder=folder)
    assert not (data / NAME).exists()  # train.tsv and test.tsv matched, but none is kept, nor the folder


def test_upstream_paths_must_stay_inside_the_download(fake, tmp_path):
    _, folder, data, write_manifest, _ = fake
    write_manifest(upstream={"../../escape.fa": ">a\nA\n"})
    with pytest.raises(InputError, match="not a relative path inside its repository"):
        fetch(NAME, data, folder=folder)
    assert not (tmp_path / "escape.fa").exists() and not (data / NAME).exists()


def test_every_converted_manifest_has_its_converter():
    converted = {n for n, m in load_manifests().items() if m.info.get("upstream")}
    assert converted == set(CONVERTERS) and len(converted) == 11
    for name in converted:
        for u in load_manifests()[name].info["upstream"]:
            assert len(u["commit"]) == 40 and len(u["sha256"]) == 64 and u["bytes"] > 0


def test_split_grouped_is_stratified_seeded_and_keeps_duplicates_together():
    rows = [(f"p{i}", f"A{i}", "1") for i in range(20)]
    rows += [(f"n{i}", f"G{i}", "0") for i in range(10)] + [("dup", "G3", "0")]  # dup: same as n3
    train, test = split_grouped(rows)
    assert sorted(train + test) == sorted(rows)
    # golden (seed 42): 4 of 20 positives; 2 of the 10 distinct negatives, one of them twice
    assert [r[0] for r in test] == ["p5", "p13", "p15", "p18", "n3", "n7", "dup"]
    assert split_grouped(rows) == (train, test) and split_grouped(rows, seed=1) != (train, test)


def test_a_failed_fetch_leaves_no_folder_it_made(fake, monkeypatch):
    _, folder, data, *_ = fake
    monkeypatch.setenv("GENOBERT_UPSTREAM", "http://127.0.0.1:9")  # nothing listens there
    with pytest.raises(InputError, match="cannot download"):
        fetch(NAME, data, folder=folder)
    assert not data.exists()  # neither the dataset's folder nor the data folder it made
    data.mkdir()
    (data / "mine.txt").write_text("x")
    with pytest.raises(InputError):
        fetch(NAME, data, folder=folder)
    assert sorted(p.name for p in data.iterdir()) == ["mine.txt"]  # the user's folder stays


def test_data_list_says_how_each_dataset_is_fetched(capsys):
    from genobert.cli import main

    assert main(["data", "list"]) == 0
    rows = {line.split("\t")[0]: line.split("\t")[4] for line in capsys.readouterr().out.splitlines()}
    assert rows["prot_antimicrobial_peptide_veltri2018"].startswith("rebuilt from ")  # was "0 fetchable"
    assert rows["pretrain_protein_uniprot_proteomes"] == "15 of them downloaded as they are"
