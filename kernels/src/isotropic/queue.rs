//! The entropy queue (SPEC §6, DESIGN §3): the last `capacity` unit directions and radii of one
//! chain, as a ring buffer. The estimator treats the sample as a set, so the ring is handed over
//! as it lies, with no copy.

/// A fixed-capacity ring of (unit direction, radius) samples.
#[derive(Clone, Debug)]
pub struct EntropyQueue {
    dim: usize,
    capacity: usize,
    units: Vec<f64>,
    radii: Vec<f64>,
    next: usize,
    len: usize,
}

impl EntropyQueue {
    /// An empty queue of `capacity` samples in dimension `dim` (memory is reserved up front).
    pub fn new(dim: usize, capacity: usize) -> Self {
        Self {
            dim,
            capacity,
            units: vec![0.0; dim * capacity],
            radii: vec![0.0; capacity],
            next: 0,
            len: 0,
        }
    }

    /// The slot the next sample goes to; call [`EntropyQueue::commit`] with its radius once written.
    pub fn slot(&mut self) -> &mut [f64] {
        let d = self.dim;
        &mut self.units[self.next * d..(self.next + 1) * d]
    }

    /// Records the radius of the sample just written into [`EntropyQueue::slot`].
    pub fn commit(&mut self, radius: f64) {
        self.radii[self.next] = radius;
        self.next = (self.next + 1) % self.capacity;
        self.len = (self.len + 1).min(self.capacity);
    }

    /// Whether the queue holds `capacity` samples.
    pub fn is_full(&self) -> bool {
        self.len == self.capacity
    }

    /// The samples (row-major unit vectors) and radii, in storage order.
    pub fn samples(&self) -> (&[f64], &[f64]) {
        (&self.units[..self.len * self.dim], &self.radii[..self.len])
    }
}

#[cfg(test)]
mod tests {
    use super::EntropyQueue;

    #[test]
    fn ring_keeps_the_last_capacity_samples() {
        let mut q = EntropyQueue::new(2, 3);
        for i in 0..5 {
            let s = q.slot();
            s[0] = f64::from(i);
            s[1] = -f64::from(i);
            q.commit(f64::from(i) + 0.5);
            assert_eq!(q.is_full(), i >= 2);
        }
        let (units, radii) = q.samples();
        let mut seen: Vec<f64> = radii.to_vec();
        seen.sort_by(f64::total_cmp);
        assert_eq!(seen, vec![2.5, 3.5, 4.5]);
        assert_eq!(units.len(), 6);
        for (row, r) in units.chunks(2).zip(radii) {
            assert_eq!(row[0] + 0.5, *r);
        }
    }
}
