#!/usr/bin/env bash
# The GPU half of docs/PERF.md in one command, for a machine with one CUDA GPU (the H200 the
# performance issue names). From the repository root:
#
#     bash benchmarks/h200.sh OUT_DIR
#
# It installs nothing: torch, transformers, tokenizers, scikit-learn, h5py and biopython must be
# importable (biopython for the baselines' SeqIO path; carry it as a wheel where it is missing),
# and genobert is run from this checkout through PYTHONPATH. Each step writes OUT_DIR/<step>.txt;
# a failing step is recorded and the others still run. Planned to fit in about 10 minutes.
# PRESETS, SEQ_LEN, STEPS and READS shrink it for a dry run on a CPU, e.g.
#     PRESETS=tiny SEQ_LEN=128 STEPS=10 READS=500 bash benchmarks/h200.sh /tmp/dry
set -uo pipefail
out=${1:?usage: bash benchmarks/h200.sh OUT_DIR}
mkdir -p "$out"
# the token stores go outside OUT_DIR: the device tool returns at most 8 files from it (this writes 8)
export PYTHONPATH="$PWD${PYTHONPATH:+:$PYTHONPATH}" PYTHONUNBUFFERED=1 GENOBERT_CACHE=/tmp/genobert-h200-cache
py=${PYTHON:-python3}  # the GPU machine's interpreter is python3; a venv here has both names

step() {  # step NAME COMMAND...: run, keep the output, note the exit status
  local name=$1; shift
  echo "== $name: $*" | tee -a "$out/steps.txt"
  local start=$SECONDS
  "$@" >"$out/$name.txt" 2>&1
  echo "   exit $? after $((SECONDS - start)) s" | tee -a "$out/steps.txt"
}

step versions "$py" -c "import torch, transformers, tokenizers, sys; print(sys.version); \
print(torch.__version__, torch.version.cuda, torch.cuda.get_device_name(0) if torch.cuda.is_available() else 'no CUDA'); \
print('transformers', transformers.__version__, 'tokenizers', tokenizers.__version__)"
step tests "$py" -m pytest -q -x tests/test_gpu.py tests/test_train.py tests/test_infer.py
presets=${PRESETS:-small,base} seq_len=${SEQ_LEN:-1024} steps=${STEPS:-60} reads=${READS:-20000}
step pretrain "$py" benchmarks/pretrain.py --presets "$presets" --tokenizers char,kmer:6 \
  --seq-len "$seq_len" --batch-size 32 --steps "$steps" --repeat 1
step pretrain_compiled "$py" benchmarks/pretrain.py --presets "${presets##*,}" --tokenizers char \
  --seq-len "$seq_len" --batch-size 32 --steps "$steps" --repeat 1 --compile
step classify "$py" benchmarks/classify.py --reads "$reads" --preset "${presets%%,*}"
step classify_compiled "$py" benchmarks/classify.py --reads "$reads" --preset "${presets%%,*}" --compile
step classify_memory "$py" benchmarks/classify_memory.py --reads "$reads" --length 150 --preset "${presets%%,*}"
tail -n 3 "$out"/*.txt
