"""Write the small simulated example files of this folder (seeded, so they never change).

    python examples/make_simulated.py [OUT_DIR]     (default: this folder)

`simulated.fa`: 8 random 120-bp DNA sequences; the odd ones carry a planted TATAAT box, one is
soft-masked (lower case) and one holds an N, as real genomes do. `simulated.tsv`: the same as a
labelled table (label 1 = TATAAT planted). Simulated data, not biology: for trying the commands.
"""

import random
import sys
from pathlib import Path

here = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).parent
rng = random.Random(2021)
rows = []
for i in range(8):
    seq = [rng.choice("ACGT") for _ in range(120)]
    if i % 2:
        seq[60:66] = "TATAAT"
    s = "".join(seq)
    if i == 2:
        s = s[:30] + s[30:70].lower() + s[70:]
    if i == 5:
        s = s[:90] + "N" + s[91:]
    rows.append((f"sim{i}", s, i % 2))
with open(here / "simulated.fa", "w") as f:
    for rid, s, label in rows:
        f.write(f">{rid} simulated label={label}\n")
        f.writelines(s[j: j + 60] + "\n" for j in range(0, len(s), 60))
with open(here / "simulated.tsv", "w") as f:
    f.write("id\tsequence\tlabel\n")
    f.writelines(f"{rid}\t{s.upper()}\t{label}\n" for rid, s, label in rows)
