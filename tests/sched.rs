//! Integration tests of the recomputation planner (`llmcore::sched`): exactness of Lynx-OPT and
//! the Checkmate optimum against exhaustive search, the independent checker on every policy,
//! the time model against Megatron-LM's published overheads, and one configuration worked out by
//! hand.

use llmcore::io::json::{parse, Json};
use llmcore::sched::{
    checker, checkmate,
    cost_model::{self, LayerGraph, ModelConfig, Segment, TensorSpec, Training},
    hardware::Hardware,
    lynx_heu, lynx_opt, plan,
    policy::{LayerPlan, LayerSlots, Policy, Slot, StageProblem},
    stage_problems, Setup,
};
use proptest::prelude::*;

/// Minimum exposed time over every assignment of every tensor of every layer to
/// {stored, 4 slots}, each judged by the checker alone; `windows == false` skips assignments
/// that use a window.
fn exhaustive(graph: &LayerGraph, problem: &StageProblem, windows: bool) -> Option<f64> {
    let k = graph.tensors.len();
    let cells = k * problem.layers;
    let mut best: Option<f64> = None;
    for mut code in 0..5usize.pow(cells as u32) {
        let mut plans: Vec<LayerPlan> = vec![vec![None; k]; problem.layers];
        let mut uses_window = false;
        for c in 0..cells {
            let choice = code % 5;
            code /= 5;
            if choice > 0 {
                let slot = Slot::ALL[choice - 1];
                uses_window |= slot.is_window();
                plans[c / k][c % k] = Some(slot);
            }
        }
        if uses_window && !windows {
            continue;
        }
        if let Ok(check) = checker::check_stage(graph, problem, &plans) {
            if best.is_none_or(|b| check.exposed_s < b) {
                best = Some(check.exposed_s);
            }
        }
    }
    best
}

fn close(a: f64, b: f64) -> bool {
    (a - b).abs() <= 1e-9 * a.abs().max(b.abs()) + 1e-15
}

prop_compose! {
    fn instance()(k in 2usize..=4)(
        k in Just(k),
        layers in 1usize..=(6 / k).max(1),
        bytes in proptest::collection::vec(1u64..50, k),
        times in proptest::collection::vec(1u32..20, k),
        dep_bits in proptest::collection::vec(0u32..16, k),
        attention in proptest::collection::vec(any::<bool>(), k),
        window_ok in proptest::collection::vec(prop::bool::weighted(0.8), k),
        caps in (0u32..30, 0u32..30, 0u32..30),
        in_flight in 1usize..4,
        budget_frac in 0.0f64..1.0,
    ) -> (LayerGraph, StageProblem) {
        let names = ["t0", "t1", "t2", "t3"];
        let tensors: Vec<TensorSpec> = (0..k)
            .map(|i| TensorSpec {
                name: names[i],
                bytes: bytes[i],
                recompute_s: times[i] as f64 * 1e-3,
                deps: (0..i).filter(|j| dep_bits[i] >> j & 1 == 1).collect(),
                segment: if attention[i] { Segment::Attention } else { Segment::Mlp },
                window_ok: window_ok[i],
            })
            .collect();
        let graph = LayerGraph { tensors, fixed_bytes: 3 };
        let full = in_flight as u64 * layers as u64 * graph.total_bytes() + graph.total_bytes();
        let static_bytes = 10;
        let problem = StageProblem {
            layers,
            in_flight,
            static_bytes,
            budget_bytes: static_bytes + (budget_frac * full as f64) as u64,
            interior: LayerSlots { window_a_s: caps.0 as f64 * 1e-3, window_b_s: caps.1 as f64 * 1e-3 },
            top: LayerSlots { window_a_s: caps.2 as f64 * 1e-3, window_b_s: caps.1 as f64 * 1e-3 },
        };
        (graph, problem)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(96))]

    /// Lynx-OPT and the Checkmate optimum equal exhaustive search; every returned schedule
    /// passes the checker with the value the solver claims; Lynx-HEU is feasible and never
    /// better than the optimum.
    #[test]
    fn opt_equals_exhaustive_search((graph, problem) in instance()) {
        let truth = exhaustive(&graph, &problem, true);
        let opt = lynx_opt::solve_stage(&graph, &problem);
        prop_assert_eq!(truth.is_some(), opt.is_some(), "feasibility differs");
        if let (Some(t), Some(o)) = (truth, &opt) {
            let check = checker::check_stage(&graph, &problem, &o.layers).unwrap();
            prop_assert!(close(check.exposed_s, o.exposed_s), "claimed {} replayed {}", o.exposed_s, check.exposed_s);
            prop_assert!(close(o.exposed_s, t), "opt {} exhaustive {}", o.exposed_s, t);
        }
        let truth_cm = exhaustive(&graph, &problem, false);
        let cm = checkmate::solve_stage(&graph, &problem);
        prop_assert_eq!(truth_cm.is_some(), cm.is_some());
        if let (Some(t), Some(c)) = (truth_cm, &cm) {
            let check = checker::check_stage(&graph, &problem, &c.layers).unwrap();
            prop_assert!(close(check.exposed_s, t), "checkmate {} exhaustive {}", check.exposed_s, t);
            prop_assert!(check.hidden_tp_s == 0.0 && check.pipeline_window_s == 0.0);
        }
        if let Some(h) = lynx_heu::solve_stage(&graph, &problem) {
            let check = checker::check_stage(&graph, &problem, &h.layers).unwrap();
            prop_assert!(close(check.exposed_s, h.exposed_s));
            prop_assert!(check.exposed_s >= truth.unwrap() - 1e-12);
        }
    }
}

#[test]
fn checker_rejects_broken_schedules() {
    let setup = benchmark_setup("gpt-1.3b", 2, 2, 8);
    let (cost, problems) = stage_problems(&setup).unwrap();
    let g = &cost.graph;
    let pr = &problems[0];
    let keep: LayerPlan = vec![None; g.tensors.len()];
    let mut plans = vec![keep.clone(); pr.layers];
    // GeLU output dropped but recomputed after the MLP backward has consumed it.
    plans[0][cost_model::tensor::GELU_OUT] = Some(Slot::Exposed2);
    let e = checker::replay(g, pr, &plans).unwrap_err().to_string();
    assert!(e.contains("gelu_out"), "{e}");
    // GeLU output recomputed from a dropped fc1 output that is recomputed later.
    plans[0][cost_model::tensor::GELU_OUT] = Some(Slot::WindowA);
    plans[0][cost_model::tensor::FC1_OUT] = Some(Slot::Exposed1);
    let e = checker::replay(g, pr, &plans).unwrap_err().to_string();
    assert!(e.contains("needs 'fc1_out'"), "{e}");
    // The projection output needs an all-reduce: no window may host it.
    let mut plans = vec![keep.clone(); pr.layers];
    plans[0][cost_model::tensor::LN2_IN] = Some(Slot::WindowB);
    let e = checker::replay(g, pr, &plans).unwrap_err().to_string();
    assert!(e.contains("communicates"), "{e}");
    // Window capacity: the whole attention chain does not fit an all-reduce.
    let mut plans = vec![keep.clone(); pr.layers];
    for i in [
        cost_model::tensor::LN1_OUT,
        cost_model::tensor::QK,
        cost_model::tensor::V,
        cost_model::tensor::SOFTMAX,
    ] {
        plans[0][i] = Some(Slot::WindowB);
    }
    let e = checker::replay(g, pr, &plans).unwrap_err().to_string();
    assert!(e.contains("capacity"), "{e}");
    // Budget: one byte less than everything stored needs.
    let all = vec![keep; pr.layers];
    let need = checker::replay(g, pr, &all).unwrap().peak_bytes;
    let tight = StageProblem {
        budget_bytes: need - 1,
        ..pr.clone()
    };
    assert!(checker::check_stage(
        g,
        &StageProblem {
            budget_bytes: need,
            ..pr.clone()
        },
        &all
    )
    .is_ok());
    let e = checker::check_stage(g, &tight, &all)
        .unwrap_err()
        .to_string();
    assert!(e.contains("exceeds the budget"), "{e}");
}

/// The benchmark layout: tensor parallel 8 inside a node (tp 4 for 1.3B: 16 heads), pipeline
/// `pp`, micro-batch `b`, 64 micro-batches per step, 80 GB.
fn benchmark_setup(model: &str, tp: usize, pp: usize, b: usize) -> Setup {
    Setup {
        model: ModelConfig::preset(model).unwrap(),
        training: Training {
            seq: 2048,
            micro_batch: b,
            global_batch: 64 * b,
            tp,
            pp,
            dp: 1,
            sequence_parallel: false,
            bytes_per_param: 18.0,
        },
        hardware: Hardware::a100_80gb(),
        budget_bytes: 80_000_000_000,
    }
}

/// Every policy's schedule replays cleanly through the checker on real model shapes, within
/// the budget, and the memory-optimal policies are never slower than the Megatron ones.
#[test]
fn every_policy_passes_the_checker() {
    for (model, tp, pp, b) in [
        ("gpt-1.3b", 2, 2, 8),
        ("gpt-6.7b", 8, 2, 8),
        ("gpt-13b", 8, 4, 8),
    ] {
        let setup = benchmark_setup(model, tp, pp, b);
        let (cost, problems) = stage_problems(&setup).unwrap();
        let mut times = std::collections::HashMap::new();
        for policy in Policy::ALL {
            let Ok(p) = plan(&setup, policy) else {
                continue;
            };
            for (s, pr) in p.stages.iter().zip(&problems) {
                let check = checker::check_stage(&cost.graph, pr, &s.layers)
                    .unwrap_or_else(|e| panic!("{model} {}: {e}", policy.name()));
                assert_eq!(check.peak_bytes, s.peak_bytes);
                assert!(s.peak_bytes <= setup.budget_bytes);
            }
            times.insert(policy.name(), p.iteration_s);
        }
        let opt = times["opt"];
        for other in ["full", "selective", "checkmate", "heu"] {
            if let Some(&t) = times.get(other) {
                assert!(
                    opt <= t * (1.0 + 1e-9),
                    "{model}: opt {opt} slower than {other} {t}"
                );
            }
        }
    }
}

/// Korthikanti et al. 2022, Table 4: per-layer time overhead of full recomputation is 33-39%
/// and of selective recomputation 2-7% (GPT 22B t=8 b=4; 175B, 530B, 1T t=8 b=1; s = 2048). The
/// cost model must land within a few points.
#[test]
fn overheads_match_megatron_measurements() {
    let hw = Hardware::a100_80gb();
    let custom = |layers, hidden, heads| ModelConfig {
        name: "custom".into(),
        layers,
        hidden,
        heads,
        vocab: 51200,
    };
    let configs = [
        (ModelConfig::preset("gpt-22b").unwrap(), 4),
        (ModelConfig::preset("gpt-175b").unwrap(), 1),
        (custom(105, 20480, 128), 1),
        (custom(128, 25600, 160), 1),
    ];
    for (model, b) in configs {
        let train = Training {
            seq: 2048,
            micro_batch: b,
            global_batch: 64,
            tp: 8,
            pp: 1,
            dp: 1,
            sequence_parallel: false,
            bytes_per_param: 18.0,
        };
        let cost = cost_model::layer_cost(&model, &train, &hw);
        let base = cost.forward_s() + cost.backward_s();
        // Megatron full: rerun the whole layer forward before its backward.
        let full = cost.forward_s() / base;
        // Megatron selective: rerun QK^T + softmax, its dropout, and attention over V.
        let selective = (cost.op_forward_s("scores_softmax")
            + cost.op_forward_s("softmax_dropout")
            + cost.op_forward_s("attn_over_v"))
            / base;
        println!(
            "h={} full {:.1}% selective {:.1}%",
            model.hidden,
            100.0 * full,
            100.0 * selective
        );
        assert!(
            (0.30..=0.42).contains(&full),
            "h={}: full {full}",
            model.hidden
        );
        assert!(
            (0.01..=0.09).contains(&selective),
            "h={}: selective {selective}",
            model.hidden
        );
    }
}

/// No-recomputation step time and memory of a small configuration, by hand.
///
/// Hardware: 100 TFLOP/s and 1000 GB/s at efficiency 1, NVLink 100 GB/s, no latencies. Model:
/// 2 layers, h = 1024, a = 16, V = 1024; s = 1024, b = 1, t = 1, p = 2, m = 2. Then
/// sbh = 2^20, A = a s^2 b = 2^24, and each op's time is max(FLOPs / 1e14, bytes / 1e12).
#[test]
fn no_recompute_step_by_hand() {
    let hw = Hardware {
        name: "round".into(),
        peak_tflops: 100.0,
        hbm_gb_s: 1000.0,
        memory_gb: 80.0,
        nvlink_gb_s: 100.0,
        gpus_per_node: 8,
        internode_gb_s: 100.0,
        nvlink_latency_us: 0.0,
        internode_latency_us: 0.0,
        matmul_efficiency: 1.0,
        memory_efficiency: 1.0,
        overlap_efficiency: 1.0,
    };
    let model = ModelConfig {
        name: "tiny".into(),
        layers: 2,
        hidden: 1024,
        heads: 16,
        vocab: 1024,
    };
    let training = Training {
        seq: 1024,
        micro_batch: 1,
        global_batch: 2,
        tp: 1,
        pp: 2,
        dp: 1,
        sequence_parallel: false,
        bytes_per_param: 18.0,
    };
    let sbh: f64 = 1048576.0; // 2^20
    let big_a = 16777216.0; // 2^24
                            // Forward ops (memory-bound ones: bytes / 1e12; compute-bound ones: FLOPs / 1e14).
    let ln = 4.0 * sbh / 1e12; // read x, write y: 4 sbh bytes = 4.194304e-6 s
    let qk = 4.0 * sbh * 1024.0 / 1e14; // 4 sbh h = 2^32 FLOPs = 4.294967296e-5 s
    let v = 2.0 * sbh * 1024.0 / 1e14; // 2^31 FLOPs = 2.147483648e-5 s
    let scores = (4.0 * sbh + 6.0 * big_a) / 1e12; // 104857600 bytes = 1.048576e-4 s (> 2^31 FLOPs)
    let dropout = 5.0 * big_a / 1e12; // 8.388608e-5 s
    let av = (2.0 * big_a + 4.0 * sbh) / 1e12; // 37748736 bytes = 3.7748736e-5 s (> 2.1e-5 s of FLOPs)
    let mask = sbh / 1e12; // 1.048576e-6 s
    let proj = 2.0 * sbh * 1024.0 / 1e14; // 2.147483648e-5 s
    let fc = 8.0 * sbh * 1024.0 / 1e14; // 2^33 FLOPs = 8.589934592e-5 s (fc1 and fc2)
    let gelu = 16.0 * sbh / 1e12; // 1.6777216e-5 s
    let layer_f = 2.0 * ln + qk + v + scores + dropout + av + 2.0 * mask + proj + 2.0 * fc + gelu;
    let layer_b = 2.0 * (layer_f - 2.0 * mask); // masks have no backward; t = 1: no all-reduce
                                                // 8.388608e-6 + 4.294967296e-5 + 2.147483648e-5 + 1.048576e-4 + 8.388608e-5 + 3.7748736e-5
                                                // + 2.097152e-6 + 2.147483648e-5 + 1.7179869184e-4 + 1.6777216e-5 = 5.1145342976e-4 s.
    assert!((layer_f - 5.1145342976e-4).abs() < 1e-15, "{layer_f}");
    let (cost, problems) = stage_problems(&Setup {
        model: model.clone(),
        training: training.clone(),
        hardware: hw.clone(),
        budget_bytes: 1 << 40,
    })
    .unwrap();
    assert!((cost.forward_s() - layer_f).abs() < 1e-15);
    assert!((cost.backward_s() - layer_b).abs() < 1e-15);
    // Stage 0 adds the embedding (6 sbh bytes forward, twice that backward); stage 1 the final
    // LayerNorm, the logits GEMM (2 sbh V = 2^31 FLOPs > 6 * 2^20 bytes) and the cross-entropy
    // (10 sbV bytes).
    let embed = 6.0 * sbh / 1e12;
    let head = ln + 2.0 * sbh * 1024.0 / 1e14 + 10.0 * sbh / 1e12;
    let (f0, b0) = (layer_f + embed, layer_b + 2.0 * embed);
    let (f1, b1) = (layer_f + head, layer_b + 2.0 * head);
    // Activations cross NVLink (GPUs 0 and 1 share a node): 2 sbh bytes / 1e11 B/s.
    let c = 2.0 * sbh / 1e11;
    // 1F1B with p = 2, m = 2: stage 0 runs F0 F1 B0 B1, stage 1 F0 B0 F1 B1. Stage 1 is the
    // slower one (f1 + b1 > b0), so stage 0's last backward waits for stage 1's:
    // step = f0 + c + 2 (f1 + b1) + c + b0.
    let makespan = f0 + 2.0 * c + 2.0 * (f1 + b1) + b0;
    // Then the Adam update over stage 0's parameters (the larger: 12h^2 + 13h + Vh + sh =
    // 14693376), reading and writing 18 bytes each: 2 * 18 * 14693376 / 1e12 s.
    let params0 = 12.0 * 1048576.0 + 13.0 * 1024.0 + 1048576.0 + 1048576.0;
    let step = makespan + 2.0 * 18.0 * params0 / 1e12;
    let p = plan(
        &Setup {
            model,
            training,
            hardware: hw,
            budget_bytes: 1 << 40,
        },
        Policy::None,
    )
    .unwrap();
    assert!(
        (p.iteration_s - step).abs() < 1e-12,
        "{} vs {step}",
        p.iteration_s
    );
    // Memory. Activations per layer: sbh (34 + 5as/h) = 2^20 (34 + 80) = 119537664 bytes.
    let act = 114u64 * 1048576;
    // Stage 0 holds min(p - 0, m) = 2 micro-batches, model state 18 * 14693376 bytes.
    assert_eq!(problems[0].in_flight, 2);
    assert_eq!(p.stages[0].peak_bytes, 18 * 14693376 + 2 * act);
    // Stage 1 holds 1 micro-batch; state 18 * (12h^2 + 13h + Vh + 2h = 13646848) plus the
    // logits 6 s b V = 6 * 2^20 bytes.
    assert_eq!(problems[1].in_flight, 1);
    assert_eq!(p.stages[1].peak_bytes, 18 * 13646848 + 6 * 1048576 + act);
}

#[test]
fn errors_are_clear() {
    let mut setup = benchmark_setup("gpt-13b", 8, 4, 8);
    setup.training.tp = 3;
    let e = plan(&setup, Policy::LynxHeu).unwrap_err().to_string();
    assert!(
        e.contains("tp=3 does not divide the 40 attention heads"),
        "{e}"
    );
    setup.training.tp = 8;
    setup.training.pp = 3;
    let e = plan(&setup, Policy::LynxHeu).unwrap_err().to_string();
    assert!(e.contains("pp=3 does not divide the 40 layers"), "{e}");
    setup.training.pp = 4;
    setup.budget_bytes = 8_000_000_000;
    let e = plan(&setup, Policy::LynxOpt).unwrap_err().to_string();
    assert!(
        e.contains("no schedule fits")
            && e.contains("raise the memory budget (--memory-gb, memory_gb) to at least"),
        "{e}"
    );
    setup.budget_bytes = 60_000_000_000;
    let e = plan(&setup, Policy::None).unwrap_err().to_string();
    assert!(
        e.contains("policy none needs") && e.contains("the leanest schedule needs"),
        "{e}"
    );
    assert!(Hardware::preset("tpu-v9")
        .unwrap_err()
        .to_string()
        .contains("unknown hardware preset"));
    assert!(ModelConfig::preset("gpt-5")
        .unwrap_err()
        .to_string()
        .contains("unknown model preset"));
}

#[test]
fn json_report_carries_schedule_and_flags() {
    let setup = benchmark_setup("gpt-6.7b", 8, 2, 8);
    let p = plan(&setup, Policy::Selective).unwrap();
    let j = p.to_json();
    assert_eq!(j.get("policy").and_then(Json::as_str), Some("selective"));
    assert_eq!(j.get("simulated").and_then(Json::as_bool), Some(true));
    let mr = j.get("megatron_recompute").unwrap();
    assert_eq!(
        mr.get("flags").and_then(Json::as_array).unwrap()[0].as_str(),
        Some("--recompute-granularity selective")
    );
    let stages = j.get("stages").and_then(Json::as_array).unwrap();
    assert_eq!(stages.len(), p.stages.len());
    for (js, s) in stages.iter().zip(&p.stages) {
        assert_eq!(
            js.get("peak_gb").and_then(Json::as_f64),
            Some(s.peak_bytes as f64 / 1e9)
        );
        // Every layer of the stage is one run dropping the attention core.
        let runs = js.get("schedule").and_then(Json::as_array).unwrap();
        assert_eq!(runs.len(), 1);
        let layers: Vec<u64> = runs[0]
            .get("layers")
            .and_then(Json::as_array)
            .unwrap()
            .iter()
            .filter_map(Json::as_u64)
            .collect();
        let end = (s.first_layer + s.layers.len()) as u64;
        assert_eq!(layers, [s.first_layer as u64, end]);
        let first = &runs[0].get("recompute").and_then(Json::as_array).unwrap()[0];
        assert_eq!(
            first.get("tensor").and_then(Json::as_str),
            Some("softmax_out")
        );
        assert_eq!(
            first.get("slot").and_then(Json::as_str),
            Some("critical_before_attention")
        );
    }
    // The text is compact JSON that reads back to the same value.
    assert_eq!(parse(&j.to_string()).unwrap(), j);
    // Megatron full: block recomputation of the same bottom N layers on every stage.
    let setup = Setup {
        budget_bytes: 60_000_000_000,
        ..benchmark_setup("gpt-13b", 8, 4, 8)
    };
    let p = plan(&setup, Policy::Full).unwrap();
    let flags = p.megatron_recompute().flags.join(" ");
    let n = p.stages[0]
        .layers
        .iter()
        .filter(|l| l.iter().all(|s| s.is_some()))
        .count();
    assert!(n > 0 && n < 10, "{n}");
    assert_eq!(
        flags,
        format!("--recompute-granularity full --recompute-method block --recompute-num-layers {n}")
    );
    assert!(p.stages.iter().all(|s| s.peak_bytes <= setup.budget_bytes));
}

/// On the real GPT layer graph (one layer, windows closed) the Checkmate optimum equals
/// exhaustive search over {stored, before MLP, before attention}^12 judged by the checker, at
/// budgets from the leanest schedule to everything stored.
#[test]
fn checkmate_is_exact_on_the_gpt_layer() {
    let mut setup = benchmark_setup("gpt-2.7b", 4, 32, 4);
    setup.training.global_batch = 32 * 4;
    let (cost, problems) = stage_problems(&setup).unwrap();
    let g = &cost.graph;
    let base = StageProblem {
        budget_bytes: u64::MAX,
        ..problems[0].clone()
    };
    assert_eq!(base.layers, 1);
    let k = g.tensors.len();
    let options = [None, Some(Slot::Exposed1), Some(Slot::Exposed2)];
    let mut outcomes: Vec<(u64, f64)> = Vec::new();
    for mut code in 0..3usize.pow(k as u32) {
        let plan: LayerPlan = (0..k)
            .map(|_| {
                let o = options[code % 3];
                code /= 3;
                o
            })
            .collect();
        if let Ok(c) = checker::replay(g, &base, &[plan]) {
            outcomes.push((c.peak_bytes, c.exposed_s));
        }
    }
    let least = outcomes.iter().map(|o| o.0).min().unwrap();
    let most = outcomes.iter().map(|o| o.0).max().unwrap();
    for step in 0..=8 {
        let budget = least + (most - least) / 8 * step;
        let truth = outcomes
            .iter()
            .filter(|o| o.0 <= budget)
            .map(|o| o.1)
            .fold(f64::INFINITY, f64::min);
        let problem = StageProblem {
            budget_bytes: budget,
            ..base.clone()
        };
        let cm = checkmate::solve_stage(g, &problem).expect("feasible");
        let check = checker::check_stage(g, &problem, &cm.layers).unwrap();
        assert!(
            close(check.exposed_s, truth),
            "budget {budget}: {} vs {truth}",
            check.exposed_s
        );
        assert_eq!(lynx_opt::minimum_peak_bytes(g, &problem), least);
    }
}
