//! Hardware profile of one GPU and its node: peak compute, memory bandwidth, links, and the
//! efficiencies that turn peaks into the roofline times of [`super::cost_model`].
//!
//! A profile is a preset ([`Hardware::preset`]: `a100`, `h100`) or a preset with keys overridden
//! one by one through [`Hardware::set`] ([`Hardware::from_json`] feeds it the fields of a JSON
//! object).

use crate::{Error, Result};
use alloc::{format, string::String};

/// One GPU of a multi-GPU node, with the links it trains over.
#[derive(Debug, Clone, PartialEq)]
pub struct Hardware {
    /// Name shown in reports.
    pub name: String,
    /// Dense bf16 tensor-core peak, TFLOP/s.
    pub peak_tflops: f64,
    /// HBM bandwidth, GB/s (1 GB = 1e9 bytes).
    pub hbm_gb_s: f64,
    /// Device memory, GB (1e9 bytes); the default budget when none is given.
    pub memory_gb: f64,
    /// NVLink bandwidth per GPU and direction, GB/s.
    pub nvlink_gb_s: f64,
    /// GPUs per node sharing NVLink.
    pub gpus_per_node: usize,
    /// Network bandwidth out of one node per direction, GB/s (4 x 200 Gb/s = 100 GB/s).
    pub internode_gb_s: f64,
    /// Per-message latency on NVLink, microseconds.
    pub nvlink_latency_us: f64,
    /// Per-message latency between nodes, microseconds.
    pub internode_latency_us: f64,
    /// Fraction of `peak_tflops` a large bf16 GEMM reaches.
    pub matmul_efficiency: f64,
    /// Fraction of `hbm_gb_s` an elementwise kernel reaches.
    pub memory_efficiency: f64,
    /// Speed of compute that runs while a collective is in flight, relative to an idle GPU
    /// (NCCL occupies some SMs and memory bandwidth); a window of `w` seconds hosts
    /// `w * overlap_efficiency` seconds of recomputation.
    pub overlap_efficiency: f64,
}

/// Names accepted by [`Hardware::preset`].
pub const HARDWARE_PRESETS: &[&str] = &["a100", "h100"];

impl Hardware {
    /// NVIDIA A100-SXM4-80GB in a DGX-A100-like node: 312 TFLOP/s bf16, 2.0 TB/s HBM,
    /// NVLink 300 GB/s per direction inside a node of 8, 4 x 200 Gb/s HDR between nodes.
    pub fn a100_80gb() -> Self {
        Hardware {
            name: "A100-SXM4-80GB".into(),
            peak_tflops: 312.0,
            hbm_gb_s: 2039.0,
            memory_gb: 80.0,
            nvlink_gb_s: 300.0,
            gpus_per_node: 8,
            internode_gb_s: 100.0,
            nvlink_latency_us: 8.0,
            internode_latency_us: 15.0,
            matmul_efficiency: 0.7,
            memory_efficiency: 0.8,
            overlap_efficiency: 0.85,
        }
    }

    /// NVIDIA H100-SXM5-80GB in a DGX-H100-like node: 989 TFLOP/s dense bf16, 3.35 TB/s HBM,
    /// NVLink 450 GB/s per direction inside a node of 8, 8 x 400 Gb/s NDR between nodes.
    pub fn h100_80gb() -> Self {
        Hardware {
            name: "H100-SXM5-80GB".into(),
            peak_tflops: 989.0,
            hbm_gb_s: 3350.0,
            memory_gb: 80.0,
            nvlink_gb_s: 450.0,
            gpus_per_node: 8,
            internode_gb_s: 400.0,
            nvlink_latency_us: 6.0,
            internode_latency_us: 12.0,
            matmul_efficiency: 0.65,
            memory_efficiency: 0.8,
            overlap_efficiency: 0.85,
        }
    }

    /// A preset by name (`a100`, `a100-80gb`, `h100`, `h100-80gb`, case-insensitive).
    pub fn preset(name: &str) -> Result<Self> {
        match name.to_ascii_lowercase().as_str() {
            "a100" | "a100-80gb" => Ok(Self::a100_80gb()),
            "h100" | "h100-80gb" => Ok(Self::h100_80gb()),
            _ => Err(Error::invalid(format!(
                "unknown hardware preset '{name}' (known: a100, h100, or a JSON profile file)"
            ))),
        }
    }

    /// Sets one numeric key of the profile (the JSON field names are the field names above).
    pub fn set(&mut self, key: &str, value: f64) -> Result<()> {
        let field = match key {
            "peak_tflops" => &mut self.peak_tflops,
            "hbm_gb_s" => &mut self.hbm_gb_s,
            "memory_gb" => &mut self.memory_gb,
            "nvlink_gb_s" => &mut self.nvlink_gb_s,
            "internode_gb_s" => &mut self.internode_gb_s,
            "nvlink_latency_us" => &mut self.nvlink_latency_us,
            "internode_latency_us" => &mut self.internode_latency_us,
            "matmul_efficiency" => &mut self.matmul_efficiency,
            "memory_efficiency" => &mut self.memory_efficiency,
            "overlap_efficiency" => &mut self.overlap_efficiency,
            "gpus_per_node" => {
                if !((1.0..=1024.0).contains(&value) && value == (value as usize) as f64) {
                    return Err(Error::invalid(format!(
                        "hardware key 'gpus_per_node' must be a whole number in 1..=1024, got {value}"
                    )));
                }
                self.gpus_per_node = value as usize;
                return Ok(());
            }
            _ => {
                return Err(Error::invalid(format!(
                    "unknown hardware profile key '{key}'"
                )));
            }
        };
        *field = value;
        self.validate()
    }

    /// Checks that every rate is positive, every efficiency lies in (0, 1] and a node has a GPU.
    pub fn validate(&self) -> Result<()> {
        if self.gpus_per_node == 0 {
            return Err(Error::invalid(
                "hardware 'gpus_per_node' must be at least 1",
            ));
        }
        let positive = [
            ("peak_tflops", self.peak_tflops),
            ("hbm_gb_s", self.hbm_gb_s),
            ("memory_gb", self.memory_gb),
            ("nvlink_gb_s", self.nvlink_gb_s),
            ("internode_gb_s", self.internode_gb_s),
        ];
        for (key, v) in positive {
            if !(v > 0.0 && v.is_finite()) {
                return Err(Error::invalid(format!(
                    "hardware '{key}' must be positive, got {v}"
                )));
            }
        }
        for (key, v) in [
            ("nvlink_latency_us", self.nvlink_latency_us),
            ("internode_latency_us", self.internode_latency_us),
        ] {
            if !(v >= 0.0 && v.is_finite()) {
                return Err(Error::invalid(format!(
                    "hardware '{key}' must be >= 0, got {v}"
                )));
            }
        }
        for (key, v) in [
            ("matmul_efficiency", self.matmul_efficiency),
            ("memory_efficiency", self.memory_efficiency),
            ("overlap_efficiency", self.overlap_efficiency),
        ] {
            if !(v > 0.0 && v <= 1.0) {
                return Err(Error::invalid(format!(
                    "hardware '{key}' must lie in (0, 1], got {v}"
                )));
            }
        }
        Ok(())
    }

    /// Roofline time of a kernel: `max(flops / achieved FLOP/s, bytes / achieved bandwidth)`.
    pub fn kernel_s(&self, flops: f64, bytes: f64) -> f64 {
        let compute = flops / (self.peak_tflops * 1e12 * self.matmul_efficiency);
        let memory = bytes / (self.hbm_gb_s * 1e9 * self.memory_efficiency);
        if compute > memory {
            compute
        } else {
            memory
        }
    }

    /// Ring all-reduce of `bytes` over `ranks` GPUs: `2 (r-1)/r * bytes / bw + 2 (r-1) * latency`
    /// (Patarasuk & Yuan's bandwidth-optimal ring), on NVLink when the group fits in a node.
    pub fn all_reduce_s(&self, bytes: f64, ranks: usize) -> f64 {
        self.ring_all_reduce_s(bytes, ranks, ranks > self.gpus_per_node)
    }

    /// The same ring all-reduce with the link given: across nodes or over NVLink (a strided
    /// group such as data parallelism can span nodes with few ranks).
    pub fn ring_all_reduce_s(&self, bytes: f64, ranks: usize, across_nodes: bool) -> f64 {
        2.0 * self.ring_pass_s(bytes, ranks, across_nodes)
    }

    /// Ring all-gather or reduce-scatter of `bytes` (the full tensor) over `ranks` GPUs: half
    /// of an all-reduce.
    pub fn half_collective_s(&self, bytes: f64, ranks: usize) -> f64 {
        self.ring_pass_s(bytes, ranks, ranks > self.gpus_per_node)
    }

    /// One pass around the ring: `(r-1)/r * bytes / bw + (r-1) * latency`.
    fn ring_pass_s(&self, bytes: f64, ranks: usize, across_nodes: bool) -> f64 {
        if ranks <= 1 {
            return 0.0;
        }
        let r = ranks as f64;
        let (bw, lat) = self.link(across_nodes);
        (r - 1.0) / r * bytes / bw + (r - 1.0) * lat
    }

    /// Point-to-point transfer of `bytes` from one GPU, across nodes or over NVLink. Between
    /// nodes a GPU gets `1 / gpus_per_node` of the node's network bandwidth.
    pub fn p2p_s(&self, bytes: f64, across_nodes: bool) -> f64 {
        let (bw, lat) = self.link(across_nodes);
        bytes / bw + lat
    }

    /// (bytes per second per GPU, latency in seconds) of NVLink or of the node network.
    fn link(&self, across_nodes: bool) -> (f64, f64) {
        if across_nodes {
            (
                self.internode_gb_s * 1e9 / self.gpus_per_node as f64,
                self.internode_latency_us * 1e-6,
            )
        } else {
            (self.nvlink_gb_s * 1e9, self.nvlink_latency_us * 1e-6)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::string::ToString;

    #[test]
    fn presets_and_keys() {
        let mut hw = Hardware::preset("A100").unwrap();
        assert_eq!(hw.peak_tflops, 312.0);
        assert_eq!(Hardware::preset("h100-80gb").unwrap().gpus_per_node, 8);
        assert!(Hardware::preset("v100")
            .unwrap_err()
            .to_string()
            .contains("v100"));
        hw.set("peak_tflops", 100.0).unwrap();
        assert_eq!(hw.peak_tflops, 100.0);
        assert!(hw.set("flux_capacitor", 1.0).is_err());
        assert!(hw.set("matmul_efficiency", 1.5).is_err());
        assert!(hw.set("gpus_per_node", 2.5).is_err());
    }

    #[test]
    fn collectives() {
        let hw = Hardware::a100_80gb();
        // 8-way ring all-reduce of 300 MB on NVLink: 2 * 7/8 * 3e8 / 3e11 = 1.75 ms + 14 * 8 us.
        let t = hw.all_reduce_s(3e8, 8);
        assert!((t - (1.75e-3 + 14.0 * 8e-6)).abs() < 1e-12);
        assert_eq!(hw.all_reduce_s(3e8, 1), 0.0);
        // Across nodes one GPU gets 100/8 GB/s.
        assert!((hw.p2p_s(12.5e9, true) - (1.0 + 15e-6)).abs() < 1e-12);
    }
}
