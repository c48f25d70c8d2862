"""What the benchmark runs: the methods, the suites of real tasks (paths relative to the data
folder) with the corpora their fresh pretraining reads, and the profiles (how much each method
may train)."""

from __future__ import annotations

from dataclasses import dataclass, field

METHODS = ("kmer-lr", "onehot-lr", "cnn", "bert-scratch", "bert-pretrained", "bert-adapted",
           "bert-probe-scratch", "bert-probe", "bert-english", "english-scratch")
PRETRAINED_METHODS = ("bert-pretrained", "bert-adapted", "bert-probe", "bert-english")  # start from pretrained weights
FINETUNED = ("bert-scratch", "bert-pretrained", "bert-adapted")  # genobert BERTs fine-tuned by `finetune`
RETUNED = ("cnn", "bert-english", "english-scratch")  # trained by epochs too, under the same protocol
METRICS = {"mcc": "MCC", "accuracy": "accuracy", "macro_f1": "macro-F1", "spearman": "Spearman",
           "iou": "span IoU", "exact": "exact spans"}


@dataclass(frozen=True)
class Task:
    name: str
    alphabet: str
    train: str  # paths relative to the data directory (or, with `derived`, to OUT/derived/NAME)
    test: str
    valid: str | None = None
    subsets: tuple[tuple[str, str, str], ...] = ()  # (name, column, value): test rows to report apart
    kind: str = "sequence"  # the finetune --task: sequence, regression, token or pair
    settings: tuple[tuple[str, str], ...] = ()  # more finetune settings, e.g. the label column
    derived: str | None = None  # a genobert.derived builder that writes the files first
    # "proteins": carve validation pairs whose proteins (ids "A|B") are all outside training, as
    # the test pairs are; None: carve rows (stratified)
    carve_by: str | None = None
    folds: int = 0  # K: stratified K-fold cross-validation of ``train`` (``test`` unused); fold = seed


@dataclass(frozen=True)
class Suite:
    name: str
    tasks: tuple[Task, ...]
    corpora: dict = field(default_factory=dict)  # alphabet -> corpus files (relative)


_G = "pretrain_dna_genomes/"
_P = "pretrain_protein_uniprot_proteomes/"
DNA_CORPUS = (_G + "Saccharomyces_cerevisiae.R64-1-1.dna.toplevel.fa.gz",
              _G + "korflab_1pct_celegans_WS282.fa.gz", _G + "korflab_1pct_dmelanogaster.fa.gz")
# korflab A. thaliana is left out: 251 Arabidopsis task sequences occur in it verbatim (SOURCES.md)
PROTEIN_CORPUS = tuple(_P + f for f in (
    "UP000000625-E.coli.fasta.gz", "UP000002311-S.cerevisiae.fasta.gz", "UP000001425-Synechocystis.fasta.gz",
    "UP000001450-P.falciparum.fasta.gz", "UP000008524-T.brucei.fasta.gz", "UP000001197-P.anserina.fasta.gz"))
ECOLI = Task("ecoli_promoter", "dna", "dna_ecoli_promoter_ipromoter2l/train.tsv",
             "dna_ecoli_promoter_ipromoter2l/test.tsv")
AMP = Task("antimicrobial_peptide", "protein", "prot_antimicrobial_peptide_veltri2018/train.tsv",
           "prot_antimicrobial_peptide_veltri2018/test.tsv", "prot_antimicrobial_peptide_veltri2018/valid.tsv")
_C = "dna_promoter_cnnprom_umarov2017/"
SUITES = {
    "quick": Suite("quick", (ECOLI, AMP), {"dna": DNA_CORPUS[:1], "protein": PROTEIN_CORPUS[:2]}),
    "dna": Suite("dna", (
        ECOLI,
        Task("human_tata_promoter", "dna", "dna_human_tata_promoter_epd/train.tsv", "dna_human_tata_promoter_epd/test.tsv"),
        Task("enhancer_layer1", "dna", "dna_enhancer_ienhancer_liu2016/layer1_enhancer_vs_non_train.tsv",
             "dna_enhancer_ienhancer_liu2016/layer1_enhancer_vs_non_test.tsv",
             subsets=(("unseen", "in_train_exact", "0"),)),
        Task("bsubtilis_promoter", "dna", _C + "bsubtilis_train.tsv", _C + "bsubtilis_test.tsv"),
        Task("ecoli_sigma70_promoter", "dna", _C + "ecoli_sigma70_train.tsv", _C + "ecoli_sigma70_test.tsv"),
        Task("mouse_tata_promoter", "dna", _C + "mouse_tata_train.tsv", _C + "mouse_tata_test.tsv"),
    ), {"dna": DNA_CORPUS}),
    # the lecture's multilingual BERT: fine-tuned on one organism's promoters, tested on another's
    # (its test file; validation carved from the training organism)
    "transfer": Suite("transfer", (
        Task("ecoli_to_bsubtilis", "dna", _C + "ecoli_sigma70_train.tsv", _C + "bsubtilis_test.tsv"),
        Task("bsubtilis_to_ecoli", "dna", _C + "bsubtilis_train.tsv", _C + "ecoli_sigma70_test.tsv"),
        Task("mouse_to_human_tata", "dna", _C + "mouse_tata_train.tsv", "dna_human_tata_promoter_epd/test.tsv"),
        Task("human_to_mouse_tata", "dna", "dna_human_tata_promoter_epd/train.tsv", _C + "mouse_tata_test.tsv"),
        Task("arabidopsis_tata_to_nontata", "dna", _C + "arabidopsis_tata_train.tsv",
             _C + "arabidopsis_nontata_test.tsv"),
    ), {"dna": DNA_CORPUS}),
    "protein": Suite("protein", (
        AMP,
        Task("antiinflammatory_peptide", "protein", "prot_antiinflammatory_peptide_aippred/train.tsv",
             "prot_antiinflammatory_peptide_aippred/test.tsv"),
        Task("dna_binding_protein", "protein", "prot_dna_binding_targetdbp/train.tsv",
             "prot_dna_binding_targetdbp/test.tsv", subsets=(("unseen", "in_train_exact", "0"),)),
        Task("secondary_structure_ss3", "protein", "prot_ss3_flip_netsurfp/train.tsv",
             "prot_ss3_flip_netsurfp/test.tsv", "prot_ss3_flip_netsurfp/valid.tsv", kind="token",
             settings=(("label_column", "ss3"), ("mask_column", "resolved_mask"))),
        Task("ppi_random_pairs", "protein", "train.tsv", "test.tsv", kind="pair", derived="ppi_random"),
        Task("ppi_unseen_proteins", "protein", "train.tsv", "test.tsv", kind="pair", derived="ppi_unseen",
             carve_by="proteins"),
        Task("conservation_mean", "protein", "train.tsv", "test.tsv", "valid.tsv", kind="regression",
             derived="conservation_mean"),
        Task("longest_helix", "protein", "train.tsv", "test.tsv", "valid.tsv", kind="span",
             derived="longest_helix"),
    ), {"protein": PROTEIN_CORPUS}),
}


@dataclass(frozen=True, kw_only=True)
class Profile:
    """How much every method may train. The BERT methods share one protocol: a learning-rate grid
    chosen on seed 0's validation score and reused for the other seeds (the baselines choose their
    own settings on validation data likewise), epochs until validation stops improving."""

    preset: str  # the suite-local (`--pretrained fresh`) model; a released one brings its own
    pretrain_steps: int  # suite-local pretraining
    seq_len: int  # suite-local pretraining window
    pretrain_batch: int
    pretrain_lr: float
    epochs: int  # a cap: early stopping on validation ends most runs well before it
    finetune_lrs: tuple[float, ...]  # the grid every BERT method searches on seed 0
    patience: int  # epochs without a better validation score before stopping
    batch_size: int
    max_len: int  # fine-tuning window
    # the grids of the other learners trained by epochs, searched on seed 0 like finetune_lrs,
    # under the same cap and patience (issue 17: a method with one untuned rate and a fixed number
    # of epochs is not a fair rival, nor a fair control): cnn, Adam's default 1e-3 and a step
    # either side; bert-english and english-scratch, from BERT's usual fine-tuning rates (2e-5 to
    # 5e-5) to the higher ones a randomly initialised 6 × 384 model needs, the same for both
    cnn_lrs: tuple[float, ...] = (3e-4, 1e-3, 3e-3)
    english_lrs: tuple[float, ...] = (3e-5, 1e-4, 3e-4)
    # how the English pair reads letters: Kao & Lee's seeded random word pieces, or fixed words
    english_mapping: str = "random"
    # Training files larger than this many tokens (residues; a pair counts up to max_len) are
    # cut to a seeded random subset of their rows within it, validation files to a quarter of it;
    # test files never. None: every row.
    max_train_tokens: int | None = None
    precision: str = "auto"  # fine-tuning; bf16 is 2.4x faster on AMX CPUs (docs/PERF.md)
    adapt_steps: int = 200  # bert-adapted: MLM steps on each task's training sequences first
    pretrain_seeds: int = 1  # --pretrained fresh: this many pretrainings, fine-tuning seed k uses k mod n
    # BERT, cnn and bert-english train on at least this many rows an epoch (a smaller training
    # set, such as a label-efficiency subset, is gone through several times): with 10 labels an
    # epoch was one step, and patience ended the run after 5 steps, before the model had learned
    # anything. 960 = 30 batches of 32, just under the smallest full training set of the suites
    # (988 rows, B. subtilis), so the full-data runs are as they were.
    min_epoch_rows: int = 960


PROFILES = {  # changed after results had been seen (issue 17: the old cap stopped BERT early)
    # 2 cores: the budget binds the three largest dna tasks and the six large protein ones
    # (per-residue, pairs, derived), and none of the others
    "cpu": Profile(preset="tiny", pretrain_steps=400, seq_len=256, pretrain_batch=32, pretrain_lr=2e-3,
                   epochs=40, finetune_lrs=(1e-4, 3e-4, 1e-3), patience=4, batch_size=32,
                   max_len=256, max_train_tokens=400_000, precision="bf16", adapt_steps=200),
    "gpu": Profile(preset="small", pretrain_steps=6000, seq_len=512, pretrain_batch=128, pretrain_lr=5e-4,
                   epochs=30, finetune_lrs=(3e-5, 1e-4, 3e-4), patience=5, batch_size=64,
                   max_len=512, adapt_steps=1000, pretrain_seeds=3),
}
PRETRAINED = ("released", "fresh")  # or a model directory
