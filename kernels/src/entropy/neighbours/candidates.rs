//! Per-row nearest-neighbour candidates under an error bound.
//!
//! Every approximate squared distance d̃ comes with a bound e (|d̃ − d| ≤ e). Each row keeps
//! `upper` = min (d̃ + e) over all offers, which bounds its true nearest distance from above, and
//! the offers whose lower end d̃ − e does not exceed `upper`: the true nearest neighbour is always
//! among them. When more than [`CAPACITY`] offers qualify, the one with the largest lower end is
//! dropped and remembered in `dropped`; if that value still does not exceed the final `upper`, the
//! row is marked for an exact brute-force search instead.

/// Candidates kept per row.
pub(super) const CAPACITY: usize = 8;

/// The candidate list of one row.
#[derive(Debug, Clone, Copy)]
pub(super) struct RowCandidates {
    upper: f64,
    dropped: f64,
    len: u32,
    lower: [f64; CAPACITY],
    index: [u32; CAPACITY],
}

impl Default for RowCandidates {
    fn default() -> Self {
        Self {
            upper: f64::INFINITY,
            dropped: f64::INFINITY,
            len: 0,
            lower: [0.0; CAPACITY],
            index: [0; CAPACITY],
        }
    }
}

impl RowCandidates {
    /// Offers row `j` at approximate squared distance `approx` with error bound `err`.
    #[inline]
    pub(super) fn offer(&mut self, j: u32, approx: f64, err: f64) {
        let lower = approx - err;
        if lower > self.upper {
            return;
        }
        self.upper = self.upper.min(approx + err);
        self.insert(j, lower);
    }

    /// The current upper bound on the row's nearest squared distance (only ever decreases).
    #[inline]
    pub(super) fn upper(&self) -> f64 {
        self.upper
    }

    /// Appends a candidate if there is room.
    fn try_push(&mut self, j: u32, lower: f64) -> bool {
        let len = self.len as usize;
        if len == CAPACITY {
            return false;
        }
        self.lower[len] = lower;
        self.index[len] = j;
        self.len += 1;
        true
    }

    fn insert(&mut self, j: u32, lower: f64) {
        if self.try_push(j, lower) {
            return;
        }
        self.prune();
        if self.try_push(j, lower) {
            return;
        }
        // Full of live candidates: drop the one with the largest lower end.
        let (worst, worst_lower) = self
            .lower
            .iter()
            .copied()
            .enumerate()
            .fold((0, f64::NEG_INFINITY), |a, b| if b.1 > a.1 { b } else { a });
        if lower < worst_lower {
            self.dropped = self.dropped.min(worst_lower);
            self.lower[worst] = lower;
            self.index[worst] = j;
        } else {
            self.dropped = self.dropped.min(lower);
        }
    }

    /// Removes candidates that can no longer be the nearest.
    fn prune(&mut self) {
        let mut keep = 0;
        for k in 0..self.len as usize {
            if self.lower[k] <= self.upper {
                self.lower[keep] = self.lower[k];
                self.index[keep] = self.index[k];
                keep += 1;
            }
        }
        self.len = keep as u32;
    }

    /// Adds everything `other` knows about the same row.
    pub(super) fn merge(&mut self, other: &Self) {
        self.upper = self.upper.min(other.upper);
        self.dropped = self.dropped.min(other.dropped);
        for k in 0..other.len as usize {
            if other.lower[k] <= self.upper {
                self.insert(other.index[k], other.lower[k]);
            }
        }
    }

    /// The rows that may be nearest, or `None` when the row needs an exact full search.
    pub(super) fn survivors(&self) -> Option<impl Iterator<Item = usize> + '_> {
        if self.len == 0 || self.dropped <= self.upper {
            return None;
        }
        let upper = self.upper;
        Some(
            self.lower
                .iter()
                .zip(&self.index)
                .take(self.len as usize)
                .filter(move |(l, _)| **l <= upper)
                .map(|(_, &j)| j as usize),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_true_nearest_and_flags_overflow() {
        let mut row = RowCandidates::default();
        // 20 offers all within each other's error bars: the list must overflow.
        for j in 0..20 {
            row.offer(j, 1.0 + 1e-3 * f64::from(j), 0.1);
        }
        assert!(row.survivors().is_none());
        // Well separated: only the nearest survives.
        let mut row = RowCandidates::default();
        for j in 0..20 {
            row.offer(j, 10.0 - 0.4 * f64::from(j), 0.1);
        }
        let got: Vec<usize> = row.survivors().expect("no overflow").collect();
        assert_eq!(got, vec![19]);
    }
}
