//! Materialising a sweep: every point (hyperparameter setting × replica) with its index and seed,
//! and the partition of points into tasks that agents lease. Both are fixed at submit time, so no
//! point is ever run twice into the results.

use crate::model::{Design, SweepSpec};

/// One chain of a sweep: a hyperparameter setting and a replica.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Point {
    /// Index of the hyperparameter setting (grid: first-axis major; adiabats: path-major).
    pub index: u32,
    /// Replica index.
    pub replica: u32,
    /// η (fixed LR) or η_eff.
    pub first: f64,
    /// λ (fixed LR, fixed ELR) or r (fixed sphere).
    pub second: f64,
    /// The adiabat the point lies on, for adiabat sweeps.
    pub path: Option<u32>,
}

/// A contiguous run of points leased as one unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TaskRange {
    /// Task index.
    pub task: u32,
    /// First point (position in [`SweepSpec::points`]).
    pub start: u32,
    /// One past the last point.
    pub end: u32,
}

impl SweepSpec {
    /// The hyperparameter settings, in index order, with their adiabat.
    pub fn settings(&self) -> Vec<(f64, f64, Option<u32>)> {
        match &self.design {
            Design::Grid { first, second } => first
                .iter()
                .flat_map(|&a| second.iter().map(move |&b| (a, b, None)))
                .collect(),
            Design::Adiabats { paths, .. } => (0u32..)
                .zip(paths)
                .flat_map(|(k, path)| path.iter().map(move |&(a, b)| (a, b, Some(k))))
                .collect(),
        }
    }

    /// Every point: settings in index order, replicas innermost.
    pub fn points(&self) -> Vec<Point> {
        let replicas = self.execution.replicas;
        (0u32..)
            .zip(self.settings())
            .flat_map(|(index, (first, second, path))| {
                (0..replicas).map(move |replica| Point {
                    index,
                    replica,
                    first,
                    second,
                    path,
                })
            })
            .collect()
    }

    /// The tasks: consecutive runs of `points_per_task` points (the last may be shorter).
    pub fn tasks(&self) -> Vec<TaskRange> {
        partition(self.points().len() as u32, self.execution.points_per_task)
    }
}

/// Splits `points` positions into consecutive tasks of `per_task` (the last may be shorter).
pub fn partition(points: u32, per_task: u32) -> Vec<TaskRange> {
    let per_task = per_task.max(1);
    (0..points.div_ceil(per_task))
        .map(|task| TaskRange {
            task,
            start: task * per_task,
            end: ((task + 1) * per_task).min(points),
        })
        .collect()
}
