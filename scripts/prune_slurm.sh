#!/usr/bin/env bash
# Prune a model with a Slurm job array: array task i prunes layer range i (dense-input mode, so
# ranges are independent), and a dependent job merges the shards into one model, bit-identical
# to a single-process `llmcore prune ... --out OUT` with the same flags.
#
#   scripts/prune_slurm.sh MODEL OUT.gguf RANGES SHARD_DIR -- <llmcore prune flags>
#
# e.g. scripts/prune_slurm.sh /shared/llama-70b.gguf /shared/pruned.gguf 8 /shared/shards -- \
#        --method fista --nm 2:4 --calib file:/shared/c4.txt --nsamples 128 --seqlen 2048
# MODEL, the calibration file and SHARD_DIR must be on a filesystem every node sees; llmcore must
# be on PATH there. Extra sbatch options (partition, time, GPUs) go in $SBATCH_ARGS.
set -euo pipefail
if [ $# -lt 5 ] || [ "$5" != "--" ]; then
	sed -n '2,12p' "$0" >&2
	exit 2
fi
model=$1 out=$2 ranges=$3 shards=$4
shift 5
n_layer=$(llmcore info "$model" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["n_layer"])')
mkdir -p "$shards"
flags=$(printf '%q ' "$@")
# Range i of RANGES covers layers [i*n/R, (i+1)*n/R).
array=$(sbatch --parsable ${SBATCH_ARGS:-} --array=0-$((ranges - 1)) --job-name=llmcore-prune \
	--wrap "i=\$SLURM_ARRAY_TASK_ID; a=\$((i * $n_layer / $ranges)); b=\$(((i + 1) * $n_layer / $ranges));
llmcore prune --model $(printf %q "$model") --mode dense-input --layers \$a..\$b --shard-out $(printf %q "$shards") $flags")
sbatch ${SBATCH_ARGS:-} --dependency=afterok:"$array" --job-name=llmcore-prune-merge \
	--wrap "llmcore prune merge $(printf %q "$shards") --model $(printf %q "$model") --out $(printf %q "$out")"
echo "submitted array $array and its merge"
