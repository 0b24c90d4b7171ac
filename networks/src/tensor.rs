//! The activation tensor: a batch in channel-major `[C, N, H, W]` layout (see the crate docs for
//! why), with its shape.

/// A batch of feature maps, stored `[C, N, H, W]`.
#[derive(Clone, Debug, PartialEq)]
pub struct Act<T> {
    /// The values, `c * n * h * w` of them.
    pub data: Vec<T>,
    /// Channels.
    pub c: usize,
    /// Batch size.
    pub n: usize,
    /// Height.
    pub h: usize,
    /// Width.
    pub w: usize,
}

impl<T: Copy + Default> Act<T> {
    /// A zero tensor of this shape.
    pub fn zeros(c: usize, n: usize, h: usize, w: usize) -> Self {
        Self {
            data: vec![T::default(); c * n * h * w],
            c,
            n,
            h,
            w,
        }
    }

    /// A zero tensor of the same shape.
    pub fn zeros_like(&self) -> Self {
        Self::zeros(self.c, self.n, self.h, self.w)
    }

    /// Elements per channel (`n * h * w`).
    pub fn plane(&self) -> usize {
        self.n * self.h * self.w
    }

    /// The same shape with other values: `data.len()` must equal this tensor's.
    pub fn with_data(&self, data: Vec<T>) -> Self {
        debug_assert_eq!(data.len(), self.data.len());
        Self {
            data,
            c: self.c,
            n: self.n,
            h: self.h,
            w: self.w,
        }
    }
}
