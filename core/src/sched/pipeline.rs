//! 1F1B pipeline simulator (PipeDream-Flush / Megatron-LM's non-interleaved schedule).
//!
//! Stage `i` of `p` runs `w_i = min(p - i - 1, m)` warm-up forwards, then alternates one forward
//! and one backward, then drains the remaining backwards. A forward of micro-batch `j` on stage
//! `i > 0` waits for stage `i - 1`'s forward of `j` plus the transfer time; a backward waits for
//! stage `i + 1`'s backward of `j` plus the transfer (the last stage's backward follows its own
//! forward). Transfers do not block the sender (Megatron batches isend/irecv).
//!
//! Recomputation that a schedule places in the pipeline window ("pre-backward work") for the
//! backward of micro-batch `j` runs while the stage waits: first in the wait before the forward
//! that precedes that backward (unless it is `j`'s own forward), then in the wait for `j`'s
//! gradient; what does not fit delays the backward. [`PipelineRun::pre_backward_gap_s`]
//! reports, per stage, the shortest sum of those two waits: the capacity the schedulers may use
//! without delaying anything.

use crate::{Error, Result};
use alloc::{format, vec, vec::Vec};

/// Per-micro-batch work of one stage.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct StageTimes {
    /// Forward seconds.
    pub forward_s: f64,
    /// Backward seconds, including recomputation on the critical path.
    pub backward_s: f64,
    /// Recomputation seconds for a backward that may run during the wait before it.
    pub pre_backward_s: f64,
}

/// Result of one simulated step.
#[derive(Debug, Clone, PartialEq)]
pub struct PipelineRun {
    /// Time from the first forward to the last backward, seconds.
    pub makespan_s: f64,
    /// Busy seconds per stage (forward, backward and pre-backward work).
    pub busy_s: Vec<f64>,
    /// Per stage, the shortest idle time available to a backward's pre-backward work.
    pub pre_backward_gap_s: Vec<f64>,
}

#[derive(Clone, Copy, PartialEq)]
enum Task {
    Forward(usize),
    Backward(usize),
}

/// The 1F1B task order of stage `i`, each task with whether it carries pre-backward work: the
/// task just before backward `j` carries it unless that task is `j`'s own forward, in which
/// case backward `j` carries it itself.
fn order(i: usize, p: usize, m: usize) -> Vec<(Task, bool)> {
    let warm = (p - i - 1).min(m);
    let mut tasks: Vec<Task> = (0..warm).map(Task::Forward).collect();
    for k in 0..m - warm {
        tasks.push(Task::Forward(warm + k));
        tasks.push(Task::Backward(k));
    }
    tasks.extend((m - warm..m).map(Task::Backward));
    let mut carries = vec![false; tasks.len()];
    for (q, t) in tasks.iter().enumerate() {
        if let Task::Backward(j) = *t {
            match q.checked_sub(1).map(|r| tasks[r]) {
                Some(Task::Forward(k)) if k != j => carries[q - 1] = true,
                _ => carries[q] = true,
            }
        }
    }
    tasks.into_iter().zip(carries).collect()
}

/// Simulates one step of `micro_batches` micro-batches over `stages.len()` stages;
/// `transfer_s[i]` is the transfer time between stages `i` and `i + 1`.
pub fn simulate_1f1b(
    stages: &[StageTimes],
    transfer_s: &[f64],
    micro_batches: usize,
) -> Result<PipelineRun> {
    let p = stages.len();
    if p == 0 || micro_batches == 0 {
        return Err(Error::invalid(
            "a pipeline needs at least one stage and one micro-batch",
        ));
    }
    if transfer_s.len() + 1 != p {
        return Err(Error::invalid(format!(
            "{} transfer times given for {p} stages (need {})",
            transfer_s.len(),
            p - 1
        )));
    }
    let m = micro_batches;
    let orders: Vec<Vec<(Task, bool)>> = (0..p).map(|i| order(i, p, m)).collect();
    let mut fwd_end = vec![vec![f64::NAN; m]; p];
    let mut bwd_end = vec![vec![f64::NAN; m]; p];
    let mut next = vec![0usize; p];
    let mut free = vec![0.0f64; p];
    let mut busy = vec![0.0f64; p];
    let mut gap = vec![f64::INFINITY; p];
    let mut pre_left = vec![0.0f64; p];
    let mut wait_sum = vec![0.0f64; p];
    let mut done = 0;
    let total = 2 * p * m;
    while done < total {
        let mut progressed = false;
        for i in 0..p {
            while next[i] < orders[i].len() {
                let (task, carries) = orders[i][next[i]];
                let ready = match task {
                    Task::Forward(_) if i == 0 => Some(0.0),
                    Task::Forward(j) => {
                        let e = fwd_end[i - 1][j];
                        (!e.is_nan()).then(|| e + transfer_s[i - 1])
                    }
                    Task::Backward(j) if i + 1 == p => Some(fwd_end[i][j]),
                    Task::Backward(j) => {
                        let e = bwd_end[i + 1][j];
                        (!e.is_nan()).then(|| e + transfer_s[i])
                    }
                };
                let Some(ready) = ready else { break };
                // Pre-backward work runs in the wait before the carrying forward (as much as
                // fits) and then in the wait before the backward itself.
                let wait = (ready - free[i]).max(0.0);
                let pre = match task {
                    Task::Forward(_) if carries => {
                        pre_left[i] = stages[i].pre_backward_s;
                        wait_sum[i] = wait;
                        let used = pre_left[i].min(wait);
                        pre_left[i] -= used;
                        used
                    }
                    Task::Forward(_) => 0.0,
                    Task::Backward(_) => {
                        if carries {
                            pre_left[i] = stages[i].pre_backward_s;
                            wait_sum[i] = 0.0;
                        }
                        gap[i] = gap[i].min(wait_sum[i] + wait);
                        core::mem::take(&mut pre_left[i])
                    }
                };
                let start = (free[i] + pre).max(ready);
                let work = match task {
                    Task::Forward(_) => stages[i].forward_s,
                    Task::Backward(_) => stages[i].backward_s,
                };
                let end = start + work;
                match task {
                    Task::Forward(j) => fwd_end[i][j] = end,
                    Task::Backward(j) => bwd_end[i][j] = end,
                }
                busy[i] += work + pre;
                free[i] = end;
                next[i] += 1;
                done += 1;
                progressed = true;
            }
        }
        if !progressed {
            return Err(Error::invalid(
                "1F1B simulation deadlocked (internal error)",
            ));
        }
    }
    let makespan_s = free.iter().copied().fold(0.0, f64::max);
    let pre_backward_gap_s = gap
        .into_iter()
        .map(|g| if g.is_finite() { g } else { 0.0 })
        .collect();
    Ok(PipelineRun {
        makespan_s,
        busy_s: busy,
        pre_backward_gap_s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn balanced_pipeline_matches_bubble_formula() {
        // No transfers, equal stages: makespan = (m + p - 1)(F + B), bubble (p - 1)/m.
        let st = StageTimes {
            forward_s: 1.0,
            backward_s: 2.0,
            pre_backward_s: 0.0,
        };
        for (p, m) in [(1, 4), (4, 8), (4, 2), (8, 8)] {
            let run = simulate_1f1b(&vec![st; p], &vec![0.0; p - 1], m).unwrap();
            assert_eq!(run.makespan_s, (m + p - 1) as f64 * 3.0, "p={p} m={m}");
            assert!(run.busy_s.iter().all(|&b| b == m as f64 * 3.0));
        }
    }

    #[test]
    fn pre_backward_work_hides_in_waits() {
        // Last stage slower: earlier stages wait before each backward, and pre-backward work no
        // longer than that wait changes nothing.
        let fast = StageTimes {
            forward_s: 1.0,
            backward_s: 2.0,
            pre_backward_s: 0.0,
        };
        let slow = StageTimes {
            forward_s: 2.0,
            backward_s: 4.0,
            pre_backward_s: 0.0,
        };
        let base = simulate_1f1b(&[fast, fast, slow], &[0.1, 0.1], 8).unwrap();
        let gap = base.pre_backward_gap_s[0];
        assert!(gap > 0.5, "{gap}");
        let hidden = StageTimes {
            pre_backward_s: gap,
            ..fast
        };
        let run = simulate_1f1b(&[hidden, fast, slow], &[0.1, 0.1], 8).unwrap();
        assert!((run.makespan_s - base.makespan_s).abs() < 1e-9);
        let exposed = StageTimes {
            pre_backward_s: gap + 3.0,
            ..fast
        };
        let run = simulate_1f1b(&[exposed, fast, slow], &[0.1, 0.1], 8).unwrap();
        assert!(run.makespan_s > base.makespan_s + 1.0);
        assert_eq!(
            base.pre_backward_gap_s[2], 0.0,
            "the last stage never waits before a backward"
        );
        assert!(simulate_1f1b(&[fast], &[0.1], 2).is_err());
    }
}
