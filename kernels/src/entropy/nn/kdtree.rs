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
        };
        tree.build_node(0, n);
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

    /// Squared distance from point `q` to its nearest other point.
    fn nearest_sq(&self, q: usize, stack: &mut Vec<(u32, f64)>) -> f64 {
        let m = self.m;
        let qp = &self.points[q * m..(q + 1) * m];
        let mut best = f64::INFINITY;
        stack.clear();
        stack.push((0, 0.0));
        while let Some((node, bound)) = stack.pop() {
            if bound > best {
                continue;
            }
            match self.nodes[node as usize] {
                Node::Leaf { start, end } => {
                    for &j in &self.order[start as usize..end as usize] {
                        let j = j as usize;
                        if j != q {
                            best = best.min(dist2(qp, &self.points[j * m..(j + 1) * m]));
                        }
                    }
                }
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

/// Squared 1-NN distances of all `n` rows of `points` (length n·m, m ≥ 1, n ≥ 2).
pub(super) fn nearest_sq(points: &[f64], n: usize, m: usize) -> Vec<f64> {
    let tree = KdTree::build(points, n, m);
    (0..n)
        .into_par_iter()
        .map_init(Vec::new, |stack, q| tree.nearest_sq(q, stack))
        .collect()
}
