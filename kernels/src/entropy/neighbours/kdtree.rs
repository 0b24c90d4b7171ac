//! Exact k-d tree for all-points 1-NN in low dimension.
//!
//! Median split on the axis of largest spread, leaves of at most [`LEAF_SIZE`] points. The split
//! value is a coordinate of a sample point, so every point of the far child lies at least
//! |q_a − split| away along that axis exactly; since [`dist2`] is monotone in each term, pruning a
//! child whose rounded gap² exceeds the best rounded distance can never drop a closer point, and
//! the result equals the brute-force float64 answer bit for bit.

use rayon::prelude::*;

use super::dist2;

/// Largest number of points in a leaf.
const LEAF_SIZE: usize = 12;

#[derive(Debug, Clone, Copy)]
enum Node {
    Leaf {
        start: u32,
        end: u32,
    },
    Split {
        axis: u32,
        value: f64,
        left: u32,
        right: u32,
    },
}

struct KdTree<'a> {
    points: &'a [f64],
    m: usize,
    order: Vec<u32>,
    nodes: Vec<Node>,
    /// The points copied in tree order (row `p` is point `order[p]`), so that leaves are
    /// contiguous in memory and queries made in tree order walk the same leaves in turn.
    sorted: Vec<f64>,
    /// The leaf node holding each tree position: a query scans its own leaf first, so the
    /// descent from the root starts with a tight bound and prunes most of the tree.
    leaf_of: Vec<u32>,
}

impl<'a> KdTree<'a> {
    fn build(points: &'a [f64], n: usize, m: usize) -> Self {
        // n < 2³² is checked by the caller.
        let order: Vec<u32> = (0..n as u32).collect();
        let mut tree = Self {
            points,
            m,
            order,
            nodes: Vec::with_capacity(2 * n / LEAF_SIZE + 1),
            sorted: Vec::new(),
            leaf_of: vec![0; n],
        };
        tree.build_node(0, n);
        for (id, node) in tree.nodes.iter().enumerate() {
            if let Node::Leaf { start, end } = *node {
                tree.leaf_of[start as usize..end as usize].fill(id as u32);
            }
        }
        tree.sorted = tree
            .order
            .iter()
            .flat_map(|&i| &points[i as usize * m..(i as usize + 1) * m])
            .copied()
            .collect();
        tree
    }

    fn coord(&self, index: u32, axis: usize) -> f64 {
        self.points[index as usize * self.m + axis]
    }

    /// Builds the subtree over `order[start..end]` and returns its node index.
    fn build_node(&mut self, start: usize, end: usize) -> u32 {
        let id = self.nodes.len() as u32;
        let leaf = Node::Leaf {
            start: start as u32,
            end: end as u32,
        };
        self.nodes.push(leaf);
        if end - start <= LEAF_SIZE {
            return id;
        }
        let (axis, spread) = (0..self.m)
            .map(|a| {
                let (lo, hi) = self.order[start..end].iter().fold(
                    (f64::INFINITY, f64::NEG_INFINITY),
                    |(lo, hi), &i| {
                        let x = self.coord(i, a);
                        (lo.min(x), hi.max(x))
                    },
                );
                (a, hi - lo)
            })
            .fold(
                (0, -1.0),
                |best, cur| if cur.1 > best.1 { cur } else { best },
            );
        if spread <= 0.0 {
            return id; // all points coincide: one leaf
        }
        let mid = start + (end - start) / 2;
        let (points, m) = (self.points, self.m);
        self.order[start..end].select_nth_unstable_by(mid - start, |&i, &j| {
            points[i as usize * m + axis].total_cmp(&points[j as usize * m + axis])
        });
        let value = self.coord(self.order[mid], axis);
        let left = self.build_node(start, mid);
        let right = self.build_node(mid, end);
        self.nodes[id as usize] = Node::Split {
            axis: axis as u32,
            value,
            left,
            right,
        };
        id
    }

    /// Squared distance from the point at tree position `q` to its nearest other point, with
    /// `dist` the squared distance of two rows (bitwise [`dist2`]).
    #[inline(always)]
    fn nearest_sq(
        &self,
        q: usize,
        stack: &mut Vec<(u32, f64)>,
        dist: impl Fn(&[f64], &[f64]) -> f64,
    ) -> f64 {
        let m = self.m;
        let qp = &self.sorted[q * m..(q + 1) * m];
        let scan = |best: f64, start: u32, end: u32| {
            (start as usize..end as usize)
                .filter(|&j| j != q)
                .fold(best, |b, j| {
                    b.min(dist(qp, &self.sorted[j * m..(j + 1) * m]))
                })
        };
        // Own leaf first (pruning with a finite bound never drops a closer point, see above).
        let own = self.leaf_of[q];
        let mut best = match self.nodes[own as usize] {
            Node::Leaf { start, end } => scan(f64::INFINITY, start, end),
            Node::Split { .. } => f64::INFINITY,
        };
        stack.clear();
        stack.push((0, 0.0));
        while let Some((node, bound)) = stack.pop() {
            if bound > best || node == own {
                continue;
            }
            match self.nodes[node as usize] {
                Node::Leaf { start, end } => best = scan(best, start, end),
                Node::Split {
                    axis,
                    value,
                    left,
                    right,
                } => {
                    let gap = qp[axis as usize] - value;
                    let (near, far) = if gap <= 0.0 {
                        (left, right)
                    } else {
                        (right, left)
                    };
                    // Far first on the stack, so the near child is searched first.
                    stack.push((far, gap * gap));
                    stack.push((near, 0.0));
                }
            }
        }
        best
    }
}

impl KdTree<'_> {
    /// [`KdTree::nearest_sq`] of every tree position for rows of length `M` (= `self.m` ≤ 8).
    fn all_nearest_sq<const M: usize>(&self) -> Vec<f64> {
        self.all_nearest_sq_with(dist2_fixed::<M>)
    }

    /// [`KdTree::nearest_sq`] of every tree position, in parallel.
    fn all_nearest_sq_with(&self, dist: impl Fn(&[f64], &[f64]) -> f64 + Sync + Copy) -> Vec<f64> {
        let n = self.order.len();
        (0..n)
            .into_par_iter()
            .map_init(Vec::new, |stack, q| self.nearest_sq(q, stack, dist))
            .collect()
    }
}

/// [`dist2`] for rows of a fixed length `M ≤ 8`, bit for bit: the same squares in the same
/// accumulator slots, reduced in the same order, with the loop and slice bounds gone.
#[inline(always)]
fn dist2_fixed<const M: usize>(a: &[f64], b: &[f64]) -> f64 {
    let mut acc = [0.0_f64; 8];
    for k in 0..M {
        let d = a[k] - b[k];
        acc[k] = d * d;
    }
    ((acc[0] + acc[4]) + (acc[2] + acc[6])) + ((acc[1] + acc[5]) + (acc[3] + acc[7]))
}

/// Squared 1-NN distances of all `n` rows of `points` (length n·m, m ≥ 1, n ≥ 2).
pub(super) fn nearest_sq(points: &[f64], n: usize, m: usize) -> Vec<f64> {
    let tree = KdTree::build(points, n, m);
    let by_position: Vec<f64> = match m {
        1 => tree.all_nearest_sq::<1>(),
        2 => tree.all_nearest_sq::<2>(),
        3 => tree.all_nearest_sq::<3>(),
        4 => tree.all_nearest_sq::<4>(),
        5 => tree.all_nearest_sq::<5>(),
        6 => tree.all_nearest_sq::<6>(),
        7 => tree.all_nearest_sq::<7>(),
        8 => tree.all_nearest_sq::<8>(),
        _ => tree.all_nearest_sq_with(dist2),
    };
    let mut out = vec![0.0; n];
    for (&i, d) in tree.order.iter().zip(by_position) {
        out[i as usize] = d;
    }
    out
}
