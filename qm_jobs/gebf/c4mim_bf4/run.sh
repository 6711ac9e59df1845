#!/bin/bash
# GEBF NPA charges of [C4mim][BF4] clusters at the default method (M06-2X/6-31G**), smallest first.
# Finished subsystem jobs land in jobs/ and are reused by any rerun (and by `polcg chain`).
cd "$(dirname "$0")"
for n in 1 2 4; do
  polcg charges ../../../examples/clusters/c4mim_bf4_$n.xyz --workdir . --workers 1 \
     --json charges_$n.json > log_$n.txt 2>&1 || exit 1
done
