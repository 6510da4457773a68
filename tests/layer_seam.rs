//! The layer-level seam pruning and training use: `embed` + `layer_forward` per layer +
//! `logits` is `forward` bit for bit; the observer sees each linear operator's exact inputs;
//! a weight replaced by an owned copy of its values changes nothing on the exact path, and a
//! changed weight changes the output.

mod common;

use common::{model, QWEN_05B, SMOLLM2};
use llmcore::model::{
    KvCache, KvType, Linear, LinearInput, LogitRows, Mask, Matrix, Model, Numerics, Observer,
    OwnedWeight, Session,
};

const TEXT: &str =
    "It was a truth universally acknowledged, that a single man in possession of a good \
fortune, must be in want of a wife.";

/// Records every observed input, in call order.
#[derive(Default)]
struct Record(Vec<(usize, LinearInput, usize, Vec<f32>)>);

impl Observer for Record {
    fn observe(&mut self, layer: usize, input: LinearInput, x: &[f32], n: usize) {
        self.0.push((layer, input, n, x.to_vec()));
    }
}

fn layer_by_layer(m: &Model, tokens: &[u32], numerics: Numerics, obs: &mut Record) -> Vec<f32> {
    let n = tokens.len();
    let positions: Vec<u32> = (0..n as u32).collect();
    let mut cache = KvCache::new(m.config.n_layer, m.config.kv_dim(), n, KvType::F32);
    let mut x = m.embed(tokens).unwrap();
    for l in 0..m.config.n_layer {
        m.layer_forward(
            l,
            &mut x,
            &positions,
            Mask::Causal,
            &mut cache,
            numerics,
            Some(obs),
        )
        .unwrap();
    }
    let rows: Vec<usize> = (0..n).collect();
    m.logits(&x, &rows, numerics).unwrap()
}

fn check_layers_equal_forward(rel: &'static str) {
    let m = model(rel);
    let tokens = m.tokenizer().encode(TEXT, false).unwrap();
    let n = tokens.len();
    for numerics in [Numerics::Exact, Numerics::Fast] {
        let mut s = Session::with_kv_type(m.clone(), n, numerics, KvType::F32).unwrap();
        let whole = s.eval(&tokens, LogitRows::All).unwrap();
        let mut obs = Record::default();
        let parts = layer_by_layer(&m, &tokens, numerics, &mut obs);
        assert!(
            whole == parts,
            "{rel} {numerics:?}: layer-by-layer logits differ"
        );
        // Four inputs per layer, in forward order, each n rows of the operators' width.
        assert_eq!(obs.0.len(), 4 * m.config.n_layer);
        for (i, (layer, input, rows, x)) in obs.0.iter().enumerate() {
            assert_eq!((*layer, *input), (i / 4, LinearInput::ALL[i % 4]));
            let (_, cols) = m.config.linear_shape(input.ops()[0]);
            assert_eq!((*rows, x.len()), (n, n * cols));
        }
    }
}

#[test]
fn layer_forward_is_forward_smollm2() {
    check_layers_equal_forward(SMOLLM2);
}

#[test]
fn layer_forward_is_forward_qwen() {
    check_layers_equal_forward(QWEN_05B);
}

#[test]
fn observed_inputs_are_what_the_operators_read() {
    // Layer 2's observed down-projection input is silu(h Wg^T) * (h Wu^T) of its observed MLP
    // input h, recomputed here in f64 from the f32 weights.
    let m = model(SMOLLM2);
    let tokens = m.tokenizer().encode(TEXT, false).unwrap();
    let mut obs = Record::default();
    layer_by_layer(&m, &tokens, Numerics::Exact, &mut obs);
    let (d, f) = (m.config.d_model, m.config.d_ffn);
    let find =
        |l: usize, input: LinearInput| &obs.0.iter().find(|o| o.0 == l && o.1 == input).unwrap().3;
    let (h, down_in) = (find(2, LinearInput::Mlp), find(2, LinearInput::Down));
    let wg = m.linear_f32(2, Linear::Gate).unwrap();
    let wu = m.linear_f32(2, Linear::Up).unwrap();
    let mut worst = 0.0f64;
    for t in 0..tokens.len() {
        let x = &h[t * d..(t + 1) * d];
        for j in 0..f {
            let dot = |w: &[f32]| -> f64 {
                w[j * d..(j + 1) * d]
                    .iter()
                    .zip(x)
                    .map(|(&a, &b)| a as f64 * b as f64)
                    .sum()
            };
            let (g, u) = (dot(&wg), dot(&wu));
            let want = g / (1.0 + (-g).exp()) * u;
            let got = down_in[t * f + j] as f64;
            worst = worst.max((got - want).abs() / (1e-3 + want.abs()));
        }
    }
    // f32 sgemm against an f64 recomputation: ~1e-5 relative at SmolLM2's widths.
    assert!(
        worst < 1e-3,
        "down input differs from silu(gate)*up by {worst:e}"
    );
}

#[test]
fn owned_weights_run_through_the_same_product() {
    let mut m = Model::open(common::asset(SMOLLM2)).unwrap();
    let tokens = m.tokenizer().encode(TEXT, false).unwrap();
    let mut base = Record::default();
    let before = layer_by_layer(&m, &tokens, Numerics::Exact, &mut base);
    // An owned f32 copy of every operator of layer 5: the exact path dequantizes mapped weights
    // to the same f32 values, so nothing changes.
    for op in Linear::ALL {
        let (rows, cols) = m.config.linear_shape(op);
        let w = m.linear_f32(5, op).unwrap();
        m.set_linear(
            5,
            op,
            Matrix::Owned(OwnedWeight::from_f32(rows, cols, &w).unwrap()),
        )
        .unwrap();
        assert!(matches!(m.linear(5, op).unwrap(), Matrix::Owned(_)));
    }
    let same = layer_by_layer(&m, &tokens, Numerics::Exact, &mut Record::default());
    assert!(
        same == before,
        "an owned copy of the same values changed the logits"
    );
    // Zeroing half of layer 5's down projection changes them.
    let (rows, cols) = m.config.linear_shape(Linear::Down);
    let mut w = m.linear_f32(5, Linear::Down).unwrap();
    w.iter_mut().step_by(2).for_each(|v| *v = 0.0);
    m.set_linear(
        5,
        Linear::Down,
        Matrix::Owned(OwnedWeight::from_f32(rows, cols, &w).unwrap()),
    )
    .unwrap();
    let changed = layer_by_layer(&m, &tokens, Numerics::Exact, &mut Record::default());
    assert!(changed != before);
    // A matrix of the wrong shape is refused, naming the tensor.
    let wrong = OwnedWeight::from_f32(cols, rows, &w).unwrap();
    let err = m
        .set_linear(5, Linear::Down, Matrix::Owned(wrong))
        .unwrap_err();
    assert!(err.to_string().contains("blk.5.ffn_down.weight"), "{err}");
    assert!(m
        .set_linear(99, Linear::Down, m.linear(5, Linear::Down).unwrap().clone())
        .is_err());
}

#[test]
fn layer_forward_refuses_bad_rows() {
    let m = model(SMOLLM2);
    let mut cache = KvCache::new(m.config.n_layer, m.config.kv_dim(), 4, KvType::F32);
    let mut x = vec![0.0f32; 3 * m.config.d_model];
    let bad = |r: llmcore::Result<()>| r.unwrap_err().to_string();
    let mut run = |layer, x: &mut [f32], pos: &[u32]| {
        m.layer_forward(
            layer,
            x,
            pos,
            Mask::Causal,
            &mut cache,
            Numerics::Fast,
            None,
        )
    };
    assert!(bad(run(30, &mut x, &[0, 1, 2])).contains("layer 30 of a model with 30 layers"));
    assert!(bad(run(0, &mut x, &[0, 1])).contains("residual floats for 2 positions"));
    let mut big = vec![0.0f32; 5 * m.config.d_model];
    let overflow = bad(run(0, &mut big, &[0, 1, 2, 3, 4]));
    assert!(
        overflow.contains('5') && overflow.contains('4'),
        "{overflow}"
    );
}
