"""Nothing a user gave is lost: bad invocations and damaged model directories through every
subcommand end in exit 2 with one line (no traceback), and every file the user had is
byte-identical afterwards (content and permission bits). docs/RELIABILITY.md lists the classes.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import sys

import pytest

from genobert.cli import main

FASTA = ">a\nACGTACGTAAATTTGG\n>b\nGGGCCCATATAT\n"


@pytest.fixture
def world(tmp_path, models, monkeypatch):
    """A user's folder: inputs, a pretrained and a fine-tuned model (copies), a non-empty folder."""
    w = tmp_path / "user"
    w.mkdir()
    shutil.copytree(models["pre"], w / "pre")
    shutil.copytree(models["clf"], w / "clf")
    shutil.copyfile(models["table"], w / "table.tsv")
    (w / "reads.fa").write_text(FASTA)
    (w / "genome.fa").write_text(">c\n" + "ACGTTGCAAGCT" * 200 + "\n")
    (w / "notes").mkdir()
    (w / "notes" / "keep.txt").write_text("mine\n")
    (w / "old.tsv").write_text("old\n")
    os.chmod(w / "old.tsv", 0o640)
    os.symlink(w / "reads.fa", w / "link.fa")
    os.link(w / "reads.fa", w / "hard.fa")
    monkeypatch.setenv("GENOBERT_CACHE", str(tmp_path / "cache"))
    monkeypatch.chdir(w)
    return w


def snapshot(root) -> dict:
    state = {}
    for dirpath, dirnames, filenames in os.walk(root):
        for name in dirnames + filenames:
            path = os.path.join(dirpath, name)
            st = os.lstat(path)
            rel = os.path.relpath(path, root)
            if stat.S_ISLNK(st.st_mode):
                state[rel] = ("link", os.readlink(path))
            elif stat.S_ISREG(st.st_mode):
                with open(path, "rb") as f:
                    state[rel] = ("file", f.read(), stat.S_IMODE(st.st_mode))
            else:
                state[rel] = ("dir", stat.S_IMODE(st.st_mode))
    return state


def refused(capsys, world, argv, expect: str) -> str:
    before = snapshot(world)
    capsys.readouterr()
    try:
        code = main(argv)
    except SystemExit as e:  # argparse: a flag of the wrong kind
        code = e.code
    _, err = capsys.readouterr()
    assert code == 2, err[-2000:]
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("genobert") and "error: " in lines[0], err
    assert "Traceback" not in err
    assert expect in lines[0], lines[0]
    assert snapshot(world) == before, "a user's file changed"
    return lines[0]


def cls(*extra):
    return ["classify", "clf", "reads.fa", "-o", *extra]


def emb(*extra):
    return ["embed", "pre", "reads.fa", "-o", *extra]


def ft(*extra):
    return ["finetune", "--train", "table.tsv", "--preset", "tiny", "--epochs", "1", "--max-len", "32", *extra]


def pt(*extra):
    return ["pretrain", "--corpus", "genome.fa", "--preset", "tiny", "--seq-len", "32", "--max-steps", "1", *extra]


# (case, argv, what the line must say): each is run on a fresh copy of the user's folder
CASES = [
    # 1. outputs never destroy inputs
    ("classify -o input", cls("reads.fa"), "is also an input"),
    ("classify -o ./input", cls("./reads.fa"), "is also an input"),
    ("classify -o symlink to input", cls("link.fa"), "is also an input"),
    ("classify -o hard link to input", cls("hard.fa"), "is also an input"),
    ("classify -o file in model dir", cls("clf/config.json"), "inside the model directory"),
    ("classify -o new file in model dir", cls("clf/out.tsv"), "inside the model directory"),
    ("embed -o input", emb("reads.fa"), "is also an input"),
    ("embed -o model weights", emb("pre/model.safetensors"), "inside the model directory"),
    # 2. outputs that cannot be files
    ("classify -o directory", cls("notes"), "is a directory"),
    ("classify -o model dir", cls("clf"), "is a directory"),
    ("embed -o directory", emb("notes"), "is a directory"),
    ("classify -o name too long", cls("x" * 300 + ".tsv"), "longer than the file system allows"),
    ("classify -o missing parent", cls("nowhere/out.tsv"), "output directory does not exist"),
    ("embed -o missing parent", emb("nowhere/out.h5"), "output directory does not exist"),
    # 3. training directories are never clobbered
    ("finetune --out non-empty", ft("--out", "notes"), "exists and is not empty; pass --overwrite"),
    ("finetune --out a model", ft("--out", "clf"), "exists and is not empty"),
    ("pretrain --out non-empty", pt("--out", "notes"), "exists and is not empty"),
    ("finetune --out is a file", ft("--out", "old.tsv"), "exists and is not a directory"),
    ("pretrain --out is a file", pt("--out", "old.tsv"), "exists and is not a directory"),
    ("finetune --out = --init", ft("--init", "pre", "--out", "pre", "--overwrite"), "--out is the --init model"),
    ("pretrain --out = --init", ["pretrain", "--corpus", "genome.fa", "--init", "pre", "--out", "pre",
                                 "--max-steps", "1", "--overwrite"], "--out is the --init model"),
    ("finetune --resume a foreign dir", ft("--out", "notes", "--resume"), "nothing to resume"),
    ("pretrain --resume a foreign dir", pt("--out", "notes", "--resume"), "nothing to resume"),
    ("finetune --out inside a file", ft("--out", "old.tsv/m"), "is not a folder, so old.tsv/m cannot be made"),
    ("finetune --overwrite a folder that is not a model", ft("--out", "notes", "--overwrite"),
     "is not a model directory (no genobert.json); --overwrite replaces only a model"),
    ("pretrain --overwrite a folder that is not a model", pt("--out", "notes", "--overwrite"), "is not a model directory"),
    ("finetune --overwrite the folder of the --init model", ft("--init", "par/pre", "--out", "par", "--overwrite"),
     "is not a model directory"),
    ("finetune --overwrite a model holding a table", ["finetune", "--train", "clf/train.tsv", "--preset", "tiny",
                                                      "--out", "clf", "--overwrite"], "holds train.tsv, which is not part"),
    ("finetune --overwrite a model holding a folder", ft("--out", "clf", "--overwrite"), "holds sub/, which is not part"),
    ("finetune --out inside --init", ft("--init", "pre", "--out", "pre/sub"), "is inside the --init model directory"),
    ("pretrain --out inside --init", ["pretrain", "--corpus", "genome.fa", "--init", "pre", "--out", "pre/more",
                                      "--max-steps", "1"], "is inside the --init model directory"),
    ("finetune --out a symbolic link", ft("--out", "lnk"), "is a symbolic link (to empty)"),
    # 5. tables in
    ("finetune empty label cell", ["finetune", "--train", "empty_label.tsv", "--out", "m", "--preset", "tiny"],
     "empty 'label' cell"),
    # 6. damaged or mismatched model directories (classify, embed, finetune --init)
    ("classify missing config.json", cls("o.tsv"), "no config.json"),
    ("classify unparsable config.json", cls("o.tsv"), "config.json: unreadable JSON"),
    ("classify missing genobert.json", cls("o.tsv"), "no genobert.json"),
    ("classify unparsable genobert.json", cls("o.tsv"), "genobert.json: unreadable JSON"),
    ("classify missing tokenizer.json", cls("o.tsv"), "no tokenizer.json"),
    ("classify unparsable tokenizer.json", cls("o.tsv"), "tokenizer.json: unreadable JSON"),
    ("classify truncated safetensors", cls("o.tsv"), "not a readable safetensors file"),
    ("classify empty safetensors", cls("o.tsv"), "not a readable safetensors file"),
    ("classify safetensors header not a map", cls("o.tsv"), "not a readable safetensors file (its header is not a map"),
    ("classify genobert.json training not an object", cls("o.tsv"), "genobert.json: training 'x'; expected an object"),
    ("classify pickled weights only", cls("o.tsv"), "pickled weights are never loaded"),
    ("classify a pretrained model", ["classify", "pre", "reads.fa", "-o", "o.tsv"], "not a fine-tuned model"),
    ("classify head missing", cls("o.tsv"), "no classifier.weight"),
    ("classify num_labels vs head", cls("o.tsv"), "outputs, config.json says 3 labels"),
    ("classify vocab vs tokenizer", cls("o.tsv"), "the model embeds only"),
    ("classify alphabet vs tokenizer", cls("o.tsv"), "says alphabet 'protein'"),
    ("classify unparsable tokenizer_config.json", cls("o.tsv"), "tokenizer_config.json: unreadable JSON"),
    ("embed unparsable tokenizer_config.json", emb("o.h5"), "tokenizer_config.json: unreadable JSON"),
    ("classify another model_type", cls("o.tsv"), "model_type 'roberta'; allowed: bert, modernbert"),
    ("classify heads vs width", cls("o.tsv"), "is not a multiple of num_attention_heads 3"),
    ("classify positions vs weights", cls("o.tsv"), "max_position_embeddings 50, but the weights hold"),
    ("classify window not a number", cls("o.tsv"), "window 'abc'; expected a whole number"),
    ("classify tokenizer vs tokenizer.json", cls("o.tsv"), "says tokenizer 'kmer:3' ("),
    ("classify labels vs head", cls("o.tsv"), "with 3 labels, which needs 3 outputs, but classifier.weight has 2"),
    ("classify duplicate labels", cls("o.tsv"), "expected a list of distinct names"),
    ("classify regression on a 2-output head", cls("o.tsv"), "says task 'regression' with 0 labels, which needs 1"),
    ("classify a config the weights do not fit", cls("o.tsv"), "intermediate_size -5; expected a whole number"),
    ("classify a size as text", cls("o.tsv"), "config.json: vocab_size '"),
    ("classify labels in another order than id2label", cls("o.tsv"), "config.json's id2label numbers them ["),
    ("classify tokenizer ids swapped", cls("o.tsv"), "tokenizer.json numbers 'A' 6; tokenizer"),
    ("classify a config field of the wrong type", cls("o.tsv"), "clf: the model does not load ("),
    ("finetune --init a config field of the wrong type", ft("--init", "clf", "--out", "m"), "clf: the model does not load ("),
    ("classify a tokenizer.json of an unknown kind", cls("o.tsv"), "clf: the model does not load ("),
    ("classify no alphabet", cls("o.tsv"), "alphabet None; expected one of"),
    ("classify labels that are not names", cls("o.tsv"), "expected a list of distinct names (strings)"),
    ("embed -o .gz", emb("o.h5.gz"), "embed writes HDF5, compressed inside"),
    ("embed -o .xz", emb("o.h5.xz"), "embed writes HDF5, compressed inside"),
    ("embed truncated safetensors", ["embed", "clf", "reads.fa", "-o", "o.h5"], "not a readable safetensors"),
    ("embed missing config.json", ["embed", "clf", "reads.fa", "-o", "o.h5"], "no config.json"),
    ("finetune --init damaged", ft("--init", "clf", "--out", "m"), "not a readable safetensors"),
    ("pretrain --init damaged", ["pretrain", "--corpus", "genome.fa", "--init", "clf", "--out", "m",
                                 "--max-steps", "1"], "no genobert.json"),
    ("classify model dir is a file", ["classify", "old.tsv", "reads.fa", "-o", "o.tsv"], "not a directory"),
    ("classify unknown model name", ["classify", "genobert-nope", "reads.fa", "-o", "o.tsv"], "no released model"),
    # 7. every flag is checked
    ("finetune --batch-size 0", ft("--out", "m", "--batch-size", "0"), "argument --batch-size: 0: expected 1 or more"),
    ("finetune --epochs 0", ft("--out", "m", "--epochs", "0"), "argument --epochs: 0: expected 1 or more"),
    ("finetune --epochs -3", ft("--out", "m", "--epochs", "-3"), "argument --epochs: -3: expected 1 or more"),
    ("finetune --max-len 2", ft("--out", "m", "--max-len", "2"), "--max-len 2: a window needs room"),
    ("finetune --patience -1", ft("--out", "m", "--patience", "-1"), "argument --patience: -1: expected 0 or more"),
    ("finetune --seed -1", ft("--out", "m", "--seed", "-1"), "argument --seed: -1: expected 0 or more"),
    ("finetune --seed 2**32", ft("--out", "m", "--seed", str(2**32)), "argument --seed: 4294967296: expected 0 to"),
    ("finetune --init empty", ft("--out", "m", "--init", ""), "argument --init: empty; expected a name"),
    ("finetune --pair-columns one name", ft("--out", "m", "--task", "pair", "--pair-columns", "a"),
     "argument --pair-columns: 'a': expected two distinct column names"),
    ("finetune --mask-column on a sequence task", ft("--out", "m", "--mask-column", "label"),
     "--mask-column is for --task token"),
    ("inspect no letters", ["inspect", "dashes.fa"], "dashes.fa: no letters A-Z in its 1 records"),
    ("finetune --out .", ft("--out", "."), ".: is the current folder (or holds it)"),
    ("pretrain --out ..", ["pretrain", "--corpus", "genome.fa", "--out", "..", "--overwrite"],
     "..: is the current folder (or holds it)"),
    ("finetune --lr -0.001", ft("--out", "m", "--lr", "-0.001"), "argument --lr: -0.001: expected a finite number of 0 or more"),
    ("finetune --lr nan", ft("--out", "m", "--lr", "nan"), "argument --lr: nan: expected a finite number of 0 or more"),
    ("pretrain --time-budget -1", ["pretrain", "--corpus", "genome.fa", "--out", "m", "--time-budget", "-1"],
     "argument --time-budget: -1: expected a finite number of 0 or more"),
    ("pretrain --time-budget inf", ["pretrain", "--corpus", "genome.fa", "--out", "m", "--time-budget", "inf"],
     "argument --time-budget: inf: expected a finite number of 0 or more"),
    ("pretrain --batch-size -1", pt("--out", "m", "--batch-size", "-1"), "argument --batch-size: -1: expected 1 or more"),
    ("pretrain --max-steps 0", pt("--out", "m", "--max-steps", "0"), "argument --max-steps: 0: expected 1 or more"),
    ("pretrain --seq-len 2", pt("--out", "m", "--seq-len", "2"), "--seq-len 2: a window needs room"),
    ("pretrain --mask-rate 0", pt("--out", "m", "--mask-rate", "0"), "--mask-rate 0.0: expected a value in (0, 1)"),
    ("pretrain --mask-rate 1.5", pt("--out", "m", "--mask-rate", "1.5"), "--mask-rate 1.5"),
    ("pretrain --holdout 0.9", pt("--out", "m", "--holdout", "0.9"), "--holdout 0.9"),
    ("pretrain --save-steps 0", pt("--out", "m", "--save-steps", "0"), "argument --save-steps: 0: expected 1 or more"),
    ("classify --batch-tokens 0", cls("o.tsv", "--batch-tokens", "0"), "argument --batch-tokens: 0: expected 1 or more"),
    ("classify --device nope", cls("o.tsv", "--device", "nope"), "--device 'nope': unknown"),
    ("classify --device cuda:7", cls("o.tsv", "--device", "cuda:7"), "not available here"),
    ("embed --layer 99", emb("o.h5", "--layer", "99"), "--layer 99 does not exist"),
    ("classify --sequences for a non-pair model", cls("o.tsv", "--sequences", "reads.fa"),
     "--sequences is for pair models"),
    ("classify --threshold 1.5", cls("o.tsv", "--threshold", "1.5"), "--threshold 1.5: for binary classifiers"),
    ("classify --top-k 3 of 2 classes", cls("o.tsv", "--top-k", "3"), "--top-k 3: for classifiers, 1 to"),
    ("finetune --init with --preset", ft("--init", "pre", "--out", "m", "--preset", "small"),
     "--preset small conflicts with --init"),
    ("finetune --init with --alphabet", ["finetune", "--train", "table.tsv", "--init", "pre", "--out", "m",
                                        "--alphabet", "protein"], "--alphabet protein conflicts with --init"),
    ("finetune --init with --arch", ft("--init", "pre", "--out", "m", "--arch", "modernbert"),
     "--arch modernbert conflicts with --init"),
    ("pretrain --init with --tokenizer", ["pretrain", "--corpus", "genome.fa", "--init", "pre", "--out", "m",
                                         "--tokenizer", "kmer:3"], "--tokenizer kmer:3 conflicts with --init"),
    ("finetune --sequences without pairs", ft("--out", "m", "--sequences", "reads.fa"), "--sequences is for --task pair"),
    ("bench --seeds 0", ["bench", "--suite", "quick", "--seeds", "0", "--out", "b", "--methods", "kmer-lr"],
     "--seeds 0"),
    ("bench --only-seeds x", ["bench", "--suite", "quick", "--only-seeds", "1,x", "--out", "b", "--methods", "kmer-lr"],
     "--only-seeds 1,x: expected seeds such as 1,2"),
    ("bench --only-seeds 3 of 3", ["bench", "--suite", "quick", "--only-seeds", "3", "--out", "b", "--methods", "kmer-lr"],
     "--only-seeds 3: expected seeds from 0 to 2"),
    # 8. data and cache
    ("data verify unknown name", ["data", "verify", "no_such_dataset"], "no dataset named no_such_dataset"),
    ("data verify a missing folder", ["data", "verify", "--data-dir", "nowhere"], "nowhere: no such folder"),
    ("data fetch a path", ["data", "fetch", "../etc"], "unknown dataset"),
    ("pretrain corpus all N", ["pretrain", "--corpus", "all_n.fa", "--out", "m", "--preset", "tiny",
                               "--seq-len", "32", "--max-steps", "1"], "the corpus holds no tokens"),
    ("pretrain missing corpus", ["pretrain", "--corpus", "absent.fa", "--out", "m", "--preset", "tiny",
                                 "--max-steps", "1"], "absent.fa: no such file"),
    ("classify symlink loop input", ["classify", "clf", "loop.fa", "-o", "o.tsv"], "loop.fa: cannot open"),
    ("pretrain unwritable cache", pt("--out", "m"), "cannot write the token-store cache"),
]

DAMAGE = {  # case -> what to do to the user's folder first
    "finetune --overwrite the folder of the --init model": lambda w: shutil.copytree(w / "pre", w / "par" / "pre"),
    "finetune --overwrite a model holding a table": lambda w: shutil.copyfile(w / "table.tsv", w / "clf" / "train.tsv"),
    "finetune --overwrite a model holding a folder": lambda w: (w / "clf" / "sub").mkdir(),
    "finetune --out a symbolic link": lambda w: ((w / "empty").mkdir(), os.symlink("empty", w / "lnk")),
    "finetune empty label cell": lambda w: (w / "empty_label.tsv").write_text(
        "id\tsequence\tlabel\n" + "".join(f"s{i}\tACGTAC\t{i % 2}\n" for i in range(10)) + "s10\tACGT\t\n"),
    "classify missing config.json": lambda w: os.unlink(w / "clf" / "config.json"),
    "embed missing config.json": lambda w: os.unlink(w / "clf" / "config.json"),
    "classify unparsable config.json": lambda w: (w / "clf" / "config.json").write_text("{oops"),
    "classify missing genobert.json": lambda w: os.unlink(w / "clf" / "genobert.json"),
    "pretrain --init damaged": lambda w: os.unlink(w / "clf" / "genobert.json"),
    "classify unparsable genobert.json": lambda w: (w / "clf" / "genobert.json").write_text("[1,"),
    "classify missing tokenizer.json": lambda w: os.unlink(w / "clf" / "tokenizer.json"),
    "classify unparsable tokenizer.json": lambda w: (w / "clf" / "tokenizer.json").write_text("nope"),
    "classify truncated safetensors": lambda w: _truncate(w / "clf" / "model.safetensors"),
    "embed truncated safetensors": lambda w: _truncate(w / "clf" / "model.safetensors"),
    "finetune --init damaged": lambda w: _truncate(w / "clf" / "model.safetensors"),
    "classify empty safetensors": lambda w: (w / "clf" / "model.safetensors").write_bytes(b""),
    "classify genobert.json training not an object": lambda w: _edit_json(w / "clf" / "genobert.json", lambda m: m.update(training="x")),
    "classify safetensors header not a map": lambda w: (w / "clf" / "model.safetensors").write_bytes(
        len(b"[1, 2]").to_bytes(8, "little") + b"[1, 2]"),
    "classify pickled weights only": lambda w: (os.unlink(w / "clf" / "model.safetensors"),
                                               (w / "clf" / "pytorch_model.bin").write_bytes(b"\x80\x04.")),
    "classify head missing": lambda w: _drop_tensor(w / "clf" / "model.safetensors", "classifier.weight"),
    "classify num_labels vs head": lambda w: _edit_json(w / "clf" / "config.json", lambda c: c.update(
        id2label={"0": "a", "1": "b", "2": "c"}, label2id={"a": 0, "b": 1, "c": 2})),
    "classify vocab vs tokenizer": lambda w: _edit_json(w / "clf" / "tokenizer.json", lambda t: t["model"]["vocab"].update(
        {f"Q{i}": 1000 + i for i in range(100)})),
    "classify unparsable tokenizer_config.json": lambda w: (w / "clf" / "tokenizer_config.json").write_text("{"),
    "embed unparsable tokenizer_config.json": lambda w: (w / "pre" / "tokenizer_config.json").write_text("{"),
    "classify another model_type": lambda w: _edit_json(w / "clf" / "config.json", lambda c: c.update(model_type="roberta")),
    "classify heads vs width": lambda w: _edit_json(w / "clf" / "config.json", lambda c: c.update(num_attention_heads=3)),
    "classify positions vs weights": lambda w: _edit_json(w / "clf" / "config.json",
                                                          lambda c: c.update(max_position_embeddings=50)),
    "classify window not a number": lambda w: _edit_json(w / "clf" / "genobert.json", lambda m: m.update(window="abc")),
    "classify tokenizer vs tokenizer.json": lambda w: _edit_json(w / "clf" / "genobert.json",
                                                                 lambda m: m.update(tokenizer="kmer:3")),
    "classify labels vs head": lambda w: _edit_json(w / "clf" / "genobert.json", lambda m: m.update(labels=["a", "b", "c"])),
    "classify duplicate labels": lambda w: _edit_json(w / "clf" / "genobert.json", lambda m: m.update(labels=["a", "a"])),
    "classify regression on a 2-output head": lambda w: _edit_json(w / "clf" / "genobert.json",
                                                                   lambda m: m.update(task="regression", labels=[])),
    "classify a config field of the wrong type": lambda w: _edit_json(w / "clf" / "config.json",
                                                                      lambda c: c.update(layer_norm_eps="x")),
    "finetune --init a config field of the wrong type": lambda w: _edit_json(w / "clf" / "config.json",
                                                                             lambda c: c.update(layer_norm_eps="x")),
    "classify a tokenizer.json of an unknown kind": lambda w: _edit_json(w / "clf" / "tokenizer.json",
                                                                         lambda t: t["model"].update(type="Nope")),
    "classify no alphabet": lambda w: _edit_json(w / "clf" / "genobert.json", lambda m: m.pop("alphabet")),
    "classify labels that are not names": lambda w: _edit_json(w / "clf" / "genobert.json", lambda m: m.update(labels=[0, 1])),
    "classify a config the weights do not fit": lambda w: _edit_json(w / "clf" / "config.json",
                                                                     lambda c: c.update(intermediate_size=-5)),
    "inspect no letters": lambda w: (w / "dashes.fa").write_text(">a\n----\n"),
    "classify a size as text": lambda w: _edit_json(w / "clf" / "config.json", lambda c: c.update(vocab_size=str(c["vocab_size"]))),
    "classify labels in another order than id2label": lambda w: _edit_json(w / "clf" / "genobert.json",
                                                                           lambda m: m.update(labels=m["labels"][::-1])),
    "classify tokenizer ids swapped": lambda w: _edit_json(w / "clf" / "tokenizer.json", lambda t: t["model"]["vocab"].update(
        A=t["model"]["vocab"]["C"], C=t["model"]["vocab"]["A"])),
    "classify alphabet vs tokenizer": lambda w: _edit_json(w / "clf" / "genobert.json", lambda m: m.update(alphabet="protein")),
    "pretrain corpus all N": lambda w: (w / "all_n.fa").write_text(">n\n" + "N" * 500 + "\n>m\n" + "N" * 40 + "\n"),
    "classify symlink loop input": lambda w: os.symlink("loop.fa", w / "loop.fa"),
    "pretrain unwritable cache": lambda w: (os.environ.__setitem__("GENOBERT_CACHE", str(w / "old.tsv" / "cache"))),
}


def _truncate(path):
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])


def _edit_json(path, change):
    data = json.loads(path.read_text())
    change(data)
    path.write_text(json.dumps(data))


def _drop_tensor(path, suffix):
    from safetensors.torch import load_file, save_file

    tensors = {k: v for k, v in load_file(path).items() if not k.endswith(suffix)}
    save_file(tensors, path, metadata={"format": "pt"})


@pytest.mark.parametrize("case,argv,expect", CASES, ids=[c[0] for c in CASES])
def test_refused_in_one_line_and_nothing_lost(case, argv, expect, world, capsys):
    if case in DAMAGE:
        DAMAGE[case](world)
    refused(capsys, world, argv, expect)


def test_there_are_at_least_sixty_cases():
    assert len(CASES) >= 60


# ----------------------------------------------------------------- what must work, and keep files


def test_resume_of_a_finished_run_leaves_the_folder_alone(world, capsys):
    """The same command again with --resume: nothing to do. Another one (more epochs, another
    kind of run) is refused, not reported as done."""
    assert main(ft("--out", "m")) == 0
    (world / "m" / "notes.txt").write_text("mine\n")  # the user's, beside the finished model
    before = snapshot(world)
    assert main(ft("--out", "m", "--resume")) == 0
    assert main([*ft("--out", "m", "--resume"), "--epochs", "2"]) == 2
    assert "the finished model was started with epochs 1, now 2" in capsys.readouterr().err
    assert main(["pretrain", "--corpus", "genome.fa", "--out", "m", "--resume"]) == 2
    assert "holds a finished fine-tuned model, not a pretrain run's" in capsys.readouterr().err
    assert snapshot(world) == before
    # --keep-checkpoints: the finished run's mark keeps its settings too
    assert main(ft("--out", "k", "--keep-checkpoints")) == 0
    (world / "t2.tsv").write_text("".join((world / "table.tsv").read_text().splitlines(True)[:-1]))
    kept = snapshot(world)
    assert main(ft("--out", "k", "--resume")) == 0 and snapshot(world) == kept
    assert main([*ft("--out", "k", "--resume"), "--train", "t2.tsv"]) == 2
    assert "another train (by content" in capsys.readouterr().err and snapshot(world) == kept


def test_output_to_stdout(world, capsys):
    assert main(["classify", "clf", "reads.fa", "-o", "-"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].startswith("id\tlabel") and len(out.splitlines()) == 3


def test_output_to_dev_null_stays_a_device(world):
    assert main(["classify", "clf", "reads.fa", "-o", "/dev/null"]) == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)
    assert main(["embed", "pre", "reads.fa", "-o", "/dev/null"]) == 0
    assert stat.S_ISCHR(os.stat("/dev/null").st_mode)


def test_output_to_a_fifo_is_streamed(world):
    import threading

    os.mkfifo(world / "pipe")
    got = []
    reader = threading.Thread(target=lambda: got.append(open(world / "pipe").read()))
    reader.start()
    assert main(["classify", "clf", "reads.fa", "-o", "pipe"]) == 0
    reader.join(30)
    assert stat.S_ISFIFO(os.stat(world / "pipe").st_mode) and got[0].count("\n") == 3


def test_a_symlinked_output_writes_its_target(world):
    os.symlink("target.tsv", world / "out_link.tsv")
    (world / "target.tsv").write_text("old\n")
    assert main(["classify", "clf", "reads.fa", "-o", "out_link.tsv"]) == 0
    assert os.path.islink(world / "out_link.tsv") and (world / "target.tsv").read_text().startswith("id\t")


def test_permission_bits_kept_and_umask_for_new_files(world):
    assert main(["classify", "clf", "reads.fa", "-o", "old.tsv"]) == 0
    assert stat.S_IMODE(os.stat(world / "old.tsv").st_mode) == 0o640
    old = os.umask(0o027)
    try:
        assert main(["classify", "clf", "reads.fa", "-o", "new.tsv"]) == 0
    finally:
        os.umask(old)
    assert stat.S_IMODE(os.stat(world / "new.tsv").st_mode) == 0o640


def test_sigterm_removes_the_partial_output(world):
    import signal
    import subprocess
    import time

    big = world / "big.fa"
    big.write_text("".join(f">r{i}\n{'ACGT' * 30}\n" for i in range(60_000)))
    proc = subprocess.Popen([sys.executable, "-m", "genobert", "classify", "clf", "big.fa", "-o", "o.tsv",
                             "--quiet"], cwd=world, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 600  # a loaded machine may take minutes to import torch and start
    while not any(n.endswith(".part") for n in os.listdir(world)) and proc.poll() is None and time.time() < deadline:
        time.sleep(0.05)
    assert proc.poll() is None, "classify ended before its output was started"  # else the signal tests nothing
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signal.SIGTERM, err
    assert "stopped by SIGTERM" in err and "Traceback" not in err
    assert not [n for n in os.listdir(world) if n.endswith(".part") or n == "o.tsv"]


def test_overwrite_swaps_in_a_complete_model_and_leaves_no_stale_file(world):
    assert main(ft("--out", "clf", "--overwrite")) == 0
    names = set(os.listdir(world / "clf"))
    assert names <= {"config.json", "model.safetensors", "tokenizer.json", "tokenizer_config.json",
                     "genobert.json", "metrics.json", "log_history.json"}
    assert not os.path.exists(world / "clf.work")


def test_missing_folders_above_a_training_out_are_made(world):
    assert main(ft("--out", "runs/deep/m")) == 0 and os.path.isfile(world / "runs/deep/m/genobert.json")


def test_a_model_directory_holds_no_pickles_and_checkpoints_can_be_kept(world):
    assert main(ft("--out", "m1")) == 0
    assert all(n.endswith((".json", ".safetensors")) for n in os.listdir(world / "m1"))
    assert not os.path.exists(world / "m1.work")
    assert main(ft("--out", "m2", "--keep-checkpoints")) == 0
    assert os.listdir(world / "m2.work" / "checkpoints")
    assert all(n.endswith((".json", ".safetensors")) for n in os.listdir(world / "m2"))


def test_ids_with_tabs_newlines_and_quotes_come_back_whole(world):
    import csv

    (world / "odd.tsv").write_text('id\tsequence\n"a\tb"\tACGT\n"c""d"\tGGCC\n"e\nf"\tACGA\n')
    assert main(["classify", "clf", "odd.tsv", "-o", "o.tsv"]) == 0
    with open(world / "o.tsv", newline="") as f:
        rows = list(csv.reader(f, delimiter="\t"))
    assert [r[0] for r in rows[1:]] == ["a\tb", 'c"d', "e\nf"] and {len(r) for r in rows} == {len(rows[0])}


def test_labels_compared_after_the_same_normalisation(world, capsys):
    (world / "float_labels.tsv").write_text(open(world / "table.tsv").read().replace("\tpos\n", "\tpos \n"))
    assert main(["classify", "clf", "float_labels.tsv", "-o", "o.tsv"]) == 0
    err = capsys.readouterr().err
    accuracy = float(err.split("accuracy ")[1].split()[0].rstrip(";"))
    assert accuracy > 0.3  # 'pos ' is read as 'pos', not as a label the model never saw


def test_a_truncated_token_store_is_rebuilt(world, tmp_path):
    from genobert.data import prepare_corpus
    from genobert.tokenize import build_tokenizer

    tok = build_tokenizer("char", "dna")
    store = prepare_corpus([str(world / "genome.fa")], tok, alphabet="dna")
    folder = next((tmp_path / "cache" / "corpora").iterdir())
    tokens = folder / "tokens.npy"
    tokens.write_bytes(tokens.read_bytes()[:200])
    again = prepare_corpus([str(world / "genome.fa")], tok, alphabet="dna")
    assert len(again.tokens) == len(store.tokens) == 2400


def test_embed_tokens_of_a_long_record_streams_to_hdf5(world):
    import tracemalloc

    import h5py
    import numpy as np

    from genobert.infer import embed_arrays, write_embeddings

    rng = np.random.default_rng(0)
    (world / "short_long.fa").write_text(">s\nACGTACGTAA\n>long\n" + "".join(rng.choice(list("ACGT"), 3000)) + "\n")
    write_embeddings("pre", ["short_long.fa"], "t.h5", pooling="tokens", quiet=True)
    _, arrays = embed_arrays("pre", "short_long.fa", pooling="tokens")
    with h5py.File(world / "t.h5") as h5:
        assert list(h5["ids"].asstr()) == ["s", "long"]
        for i, want in enumerate(arrays):  # streamed rows equal the in-memory pooling
            np.testing.assert_allclose(h5["tokens"][str(i)][:], want, atol=1e-5)
    (world / "huge.fa").write_text(">huge\n" + "".join(rng.choice(list("ACGT"), 100_000)) + "\n")
    tracemalloc.start()
    write_embeddings("pre", ["huge.fa"], "h.h5", pooling="tokens", quiet=True)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    full = 100_000 * 64 * 8  # the record's vectors in float64, as pooling in memory holds them
    assert peak < full / 4, f"peak {peak:,} bytes"
