//! How a running batch talks to its caller: series rows, progress, cancellation. The agent bridges
//! these to gRPC streams; tests and the CLI use them directly. Called from compute threads, so
//! implementations must be cheap and `Sync`.

/// One time-series sample of one chain (DESIGN §5 `series.parquet`); `None` where not measured.
#[derive(Clone, Debug, PartialEq)]
pub struct SeriesRow {
    /// Point index.
    pub point: u32,
    /// Replica index.
    pub replica: u32,
    /// Iterations completed when sampled.
    pub iteration: u64,
    /// The loss L(w̄).
    pub loss: Option<f64>,
    /// ‖w‖.
    pub radius: Option<f64>,
    /// Entropy of the unit-sphere distribution from the queue.
    pub entropy_unit: Option<f64>,
    /// Total entropy (unit + (d−1)·ln of the queue's mean radius).
    pub entropy: Option<f64>,
    /// tr Σ(w̄): for the isotropic model σ²‖P_w̄ ε‖² of the step's draw.
    pub trace_sigma: Option<f64>,
    /// ‖∇L(w̄)‖².
    pub full_grad_sq: Option<f64>,
}

/// Chain-steps done out of the batch's total (chains × iterations).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Progress {
    /// Chain-steps completed.
    pub steps_done: u64,
    /// Chain-steps in the batch.
    pub steps_total: u64,
}

/// Receives what a batch produces while it runs. Every method has a do-nothing default.
pub trait BatchObserver: Sync {
    /// Series rows, in iteration order per chain, delivered in chunks.
    fn series(&self, rows: Vec<SeriesRow>) {
        let _ = rows;
    }
    /// Progress, at least every few thousand steps per group of chains.
    fn progress(&self, progress: Progress) {
        let _ = progress;
    }
    /// Polled between chunks: `true` stops the batch with [`crate::KernelError::Cancelled`].
    fn cancelled(&self) -> bool {
        false
    }
}

/// An observer that ignores everything.
#[derive(Clone, Copy, Debug, Default)]
pub struct NoObserver;

impl BatchObserver for NoObserver {}
