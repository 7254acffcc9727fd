#!/bin/bash
# tests/bridge/test_loss.sh [PYTHON] - the loss template on real graphs: for
# scaled-down copies of KernelBench level 1's losses ($KBREED_KERNELBENCH/
# level1: MSE, Huber, KL divergence, triplet margin; cross-entropy, cosine
# and hinge losses are not among its development problems) and the odd-shaped
# losses of tests/data (odd_loss_*.py), recognition writes KB_LOSS_* defines
# (the loss, its reduction and its constants, read from the graph),
# `kbreed template loss_reduce --for` realises them, and nvcc compiles them
# at the defaults and, for the odd ones, at the knob extremes (sm_90a; not
# in the sanitizer run). Graphs the template does not compute (a broadcast
# operand, another power, a reduction over a dim first, a sum divided by
# something else than the batch, a 1-norm, another constant, a cosine along
# another dim than the last, cross-entropy with label smoothing or class
# weights) get no KB_LOSS_OP and are
# refused; a dry run's round 0 holds loss_reduce for a loss and not for the
# others; a run on the fake GPU proposes ideas of the catalogue's loss-*
# family, the row ones only for a loss with a term per row.
set -u
cd "$(dirname "$0")/../.."
. tests/bridge/template_lib.sh

level1_copies 94_MSELoss 96_HuberLoss 98_KLDivLoss 99_TripletMarginLoss
cp tests/data/odd_loss_*.py "$tmp/p/"
n_l1=$(ls "$tmp/p" | grep -vc '^odd_')
echo "# $n_l1 level-1 losses, $(ls "$tmp/p" | grep -c '^odd_') odd ones"

# Each: recognised with KB_LOSS_OP; realised at the defaults; the odd ones
# also at every knob's lowest and highest values.
for f in "$tmp"/p/*.py; do
	name=$(basename "$f" .py)
	describe "$f"
	if grep -q '^family    loss, ' "$tmp/$name.desc" && grep -q '^#define KB_LOSS_OP KB_LOSS_' "$tmp/$name.desc"; then
		ok "$name: recognised as a loss with KB_LOSS_OP"
	else not_ok "$name: recognised as a loss with KB_LOSS_OP" "$(cat "$tmp/$name.desc")"; fi
	realise loss_reduce "$f" default
	"$K" -q template reduce_dim --for "$f" >/dev/null 2>&1 &&
		not_ok "$name: reduce_dim is not offered to a loss"
	case $name in
	odd_*)
		realise loss_reduce "$f" low THREADS=128 VEC=1 UNROLL=1 BLOCKS_PER_SM=1 PER_ROW=1 STREAM=0
		realise loss_reduce "$f" high THREADS=1024 VEC=4 UNROLL=8 BLOCKS_PER_SM=8 PER_ROW=2 STREAM=1 ;;
	esac
done

# The defines say what each graph computes, with the constants the problem
# gives (parenthesised: a margin may be negative).
want odd_loss_mse_fp16 "KB_LOSS_OP KB_LOSS_MSE" "KB_LOSS_REDUCTION KB_LOSS_MEAN"
want odd_loss_smooth_l1 "KB_LOSS_OP KB_LOSS_SMOOTH_L1" "KB_LOSS_REDUCTION KB_LOSS_SUM" "KB_LOSS_BETA (0.5)"
want odd_loss_huber_bf16 "KB_LOSS_OP KB_LOSS_HUBER" "KB_LOSS_REDUCTION KB_LOSS_MEAN" "KB_LOSS_DELTA (0.69999999999999996)"
want odd_loss_kl_div "KB_LOSS_OP KB_LOSS_KL_DIV" "KB_LOSS_REDUCTION KB_LOSS_BATCHMEAN" "KB_LOSS_LOG_INPUT 1" "KB_LOSS_LOG_TARGET 0"
want odd_loss_kl_div_log_target "KB_LOSS_OP KB_LOSS_KL_DIV" "KB_LOSS_REDUCTION KB_LOSS_SUM" "KB_LOSS_LOG_INPUT 0" "KB_LOSS_LOG_TARGET 1"
want odd_loss_hinge "KB_LOSS_OP KB_LOSS_HINGE" "KB_LOSS_REDUCTION KB_LOSS_MEAN"
want odd_loss_triplet_fp16 "KB_LOSS_OP KB_LOSS_TRIPLET" "KB_LOSS_REDUCTION KB_LOSS_MEAN" "KB_LOSS_MARGIN (0.29999999999999999)" \
	"KB_LOSS_EPS (9.9999999999999995e-07)" "KB_LOSS_ROWS 1"
want odd_loss_cross_entropy "KB_LOSS_OP KB_LOSS_CROSS_ENTROPY" "KB_LOSS_REDUCTION KB_LOSS_MEAN" "KB_LOSS_IGNORE_INDEX (5)" "KB_LOSS_ROWS 1"
want odd_loss_cross_entropy_bf16 "KB_LOSS_OP KB_LOSS_CROSS_ENTROPY" "KB_LOSS_REDUCTION KB_LOSS_SUM" "KB_LOSS_IGNORE_INDEX (-100)"
want odd_loss_cosine "KB_LOSS_OP KB_LOSS_COSINE" "KB_LOSS_REDUCTION KB_LOSS_MEAN" "KB_LOSS_EPS (1e-08)" "KB_LOSS_ROWS 1"
want odd_loss_triplet_sum "KB_LOSS_OP KB_LOSS_TRIPLET" "KB_LOSS_REDUCTION KB_LOSS_SUM" "KB_LOSS_MARGIN (2)" "KB_LOSS_EPS (0.0001)"
lacks odd_loss_mse_fp16 KB_LOSS_ROWS KB_LOSS_BETA KB_LOSS_LOG_INPUT
grep -q '^family    loss, op kl_div ' "$tmp/odd_loss_kl_div_log_target.desc" &&
	ok "odd_loss_kl_div_log_target: named kl_div (exp, sub, mul matched exactly)" ||
	not_ok "odd_loss_kl_div_log_target: named kl_div" "$(head -3 "$tmp/odd_loss_kl_div_log_target.desc")"
if [ "$n_l1" -eq 4 ]; then
	want 94_MSELoss "KB_LOSS_OP KB_LOSS_MSE" "KB_LOSS_REDUCTION KB_LOSS_MEAN"
	want 96_HuberLoss "KB_LOSS_OP KB_LOSS_SMOOTH_L1" "KB_LOSS_BETA (1)"
	want 98_KLDivLoss "KB_LOSS_OP KB_LOSS_KL_DIV" "KB_LOSS_REDUCTION KB_LOSS_BATCHMEAN" "KB_LOSS_LOG_INPUT 1"
	want 99_TripletMarginLoss "KB_LOSS_OP KB_LOSS_TRIPLET" "KB_LOSS_MARGIN (1)" "KB_LOSS_ROWS 1"
fi
compile_realisations

# Graphs the template does not compute, each from an odd problem with
# another forward: no KB_LOSS_OP written, and refused by `template --for`
# (recognition still names most of them losses, for the generated kernel).
variant() { # name, problem, forward expression
	sed "s|^        return .*|        return $3|" "tests/data/$2.py" >"$tmp/$1.py"
}
variant broadcast odd_loss_mse_fp16 "torch.mean((predictions - targets[0]) ** 2)"
variant cube odd_loss_mse_fp16 "torch.mean((predictions - targets) ** 3)"
variant dim_first odd_loss_mse_fp16 "torch.mean(torch.mean((predictions - targets) ** 2, dim=1))"
variant kl_halved odd_loss_kl_div "F.kl_div(torch.log(predictions), targets, reduction=\"sum\") / 2"
variant triplet_l1 odd_loss_triplet_sum "F.triplet_margin_loss(anchor, positive, negative, p=1)"
variant hinge_two odd_loss_hinge "torch.mean(torch.clamp(2 - predictions * targets, min=0))"
variant cosine_dim0 odd_loss_cosine "torch.mean(1 - F.cosine_similarity(predictions, targets, dim=0))"
variant smoothed odd_loss_cross_entropy "F.cross_entropy(predictions, targets, label_smoothing=0.1)"
variant weighted odd_loss_cross_entropy "F.nll_loss(torch.log_softmax(predictions, 1), targets, weight=predictions[0].abs())"
for name in broadcast cube dim_first kl_halved triplet_l1 hinge_two cosine_dim0 smoothed weighted; do
	describe "$tmp/$name.py"
	grep -q KB_LOSS_OP "$tmp/$name.desc" && not_ok "$name: no KB_LOSS_OP" "$(cat "$tmp/$name.desc")"
	refused loss_reduce "$tmp/$name.py"
done

# torch's own mse_loss (through broadcast_tensors) is one too, summed here.
variant mse_functional odd_loss_mse_fp16 "F.mse_loss(predictions, targets, reduction=\"sum\")"
describe "$tmp/mse_functional.py"
want mse_functional "KB_LOSS_OP KB_LOSS_MSE" "KB_LOSS_REDUCTION KB_LOSS_SUM"

# Round 0 of a dry run (nvcc stood in for: only what is proposed matters).
export KBREED_NVCC=$root/tests/cli/fake_nvcc.sh
# Cross-entropy's naive kernel is not generated (nll_loss_forward): the
# template alone makes its round 0.
for f in "$tmp"/p/odd_loss_kl_div.py "$tmp"/p/odd_loss_triplet_fp16.py "$tmp"/p/odd_loss_cross_entropy.py "$tmp/cube.py"; do
	name=$(basename "$f" .py)
	case $name in
	cube) w=0 ;;
	*) w=1 ;;
	esac
	round0_holds loss_reduce "$f" "$w"
done

# A run on the fake GPU (fake_gpu_run): the rounds after 0 propose the
# catalogue's loss-* ideas, the row ones only for a loss with a term per
# row, and their kernels are loss_reduce's.
fake_gpu_proposes "$tmp/p/odd_loss_smooth_l1.py" loss- loss_reduce
run_has_no_idea loss-warp-per-row loss-block-per-row
fake_gpu_proposes "$tmp/p/odd_loss_triplet_sum.py" loss- loss_reduce
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
