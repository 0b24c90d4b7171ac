//! A network's mini-batches on a CUDA device (`batch.cu`): a training set kept on the device as
//! its raw u8 pixels and labels ([`DeviceImages`]), the i.i.d. indices of an iteration drawn from
//! the shared Philox stream ([`batch_indices_on`], the CPU sampler's formula), and the batch
//! gathered and normalised there ([`gather_batch_on`], the CPU's f64 expression rounded to f32),
//! so a step moves nothing but the batch's loss across the bus.

use super::device::{Args, Buffer, Device};
use super::error::CudaError;
use super::pointwise::grid;
use super::sources::KernelSource;
use crate::rng::philox_key;

fn launch_error(what: impl std::fmt::Display) -> CudaError {
    CudaError::Launch(what.to_string())
}

/// An image set on a device: NCHW u8 pixels, labels, and the per-channel affine map to the
/// network's input, `x = pixel·scale[c] − shift[c]` (f64, then f32).
#[derive(Debug)]
pub struct DeviceImages {
    pixels: Buffer<u8>,
    labels: Buffer<u8>,
    scale: Buffer<f64>,
    shift: Buffer<f64>,
    len: usize,
    channels: usize,
    plane: usize,
    classes: usize,
}

impl DeviceImages {
    /// `labels.len()` images of `channels` planes of `plane` pixels each, copied to `device`.
    /// Every label must be below `classes` (the cross-entropy indexes the logits by it).
    pub fn upload(
        device: &dyn Device,
        pixels: &[u8],
        labels: &[u8],
        (channels, plane): (usize, usize),
        classes: usize,
        (scale, shift): (&[f64], &[f64]),
    ) -> Result<Self, CudaError> {
        let len = labels.len();
        if pixels.len() != len * channels * plane {
            return Err(launch_error(format!(
                "{} pixels for {len} images of {channels}×{plane}",
                pixels.len()
            )));
        }
        if scale.len() != channels || shift.len() != channels {
            return Err(launch_error("one scale and one shift per channel"));
        }
        if let Some(i) = labels.iter().position(|&l| usize::from(l) >= classes) {
            return Err(launch_error(format!(
                "label {} of image {i} is not below {classes} classes",
                labels[i]
            )));
        }
        if u32::try_from(len).is_err() || i32::try_from(channels).is_err() {
            return Err(launch_error(format!("{len} images of {channels} channels")));
        }
        Ok(Self {
            pixels: device.upload(pixels)?,
            labels: device.upload(labels)?,
            scale: device.upload(scale)?,
            shift: device.upload(shift)?,
            len,
            channels,
            plane,
            classes,
        })
    }

    /// Images held.
    pub fn len(&self) -> usize {
        self.len
    }

    /// Whether it holds no image.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Channels per image.
    pub fn channels(&self) -> usize {
        self.channels
    }

    /// Every label is below this.
    pub fn classes(&self) -> usize {
        self.classes
    }

    /// Pixels per channel plane.
    pub fn plane(&self) -> usize {
        self.plane
    }
}

/// The `batch` indices below `n_items` of iteration `iteration` of the sampler keyed by `seed`
/// into `out`: word `j % 4` of Philox block `j / 4` at counter `(block, iteration, BatchIndices)`,
/// mapped by `⌊u·n_items / 2³²⌋`.
pub fn batch_indices_on(
    device: &dyn Device,
    seed: u64,
    iteration: u64,
    n_items: usize,
    out: &mut Buffer<u32>,
) -> Result<(), CudaError> {
    let n = u32::try_from(n_items).map_err(|_| launch_error(format!("{n_items} items")))?;
    let batch = i32::try_from(out.len()).map_err(|_| launch_error("batch size"))?;
    if batch == 0 {
        return Ok(());
    }
    let [k0, k1] = philox_key(seed);
    let args = Args::new()
        .val(&k0)
        .val(&k1)
        .val(&iteration)
        .val(&n)
        .val(&batch)
        .buf(out);
    // SAFETY: matches batch_indices_u32(u32, u32, u64, u32, int, u32*); `out` holds `batch`.
    unsafe {
        device.launch(
            KernelSource::Batch,
            "batch_indices_u32",
            grid(out.len()),
            args,
        )
    }
}

/// The images `idx` of `set` as a CNHW batch into `x` (`channels·idx.len()·plane` values) and
/// their labels into `labels`. An index not below `set.len()` reads nothing: its values are NaN
/// (so the pass's loss is not finite) and its label 0.
pub fn gather_batch_on(
    device: &dyn Device,
    set: &DeviceImages,
    idx: &Buffer<u32>,
    x: &mut Buffer<f32>,
    labels: &mut Buffer<u32>,
) -> Result<(), CudaError> {
    let nb = idx.len();
    if x.len() != set.channels * nb * set.plane || labels.len() != nb {
        return Err(launch_error(format!(
            "a batch of {nb} images of {}×{} into {} values and {} labels",
            set.channels,
            set.plane,
            x.len(),
            labels.len()
        )));
    }
    if nb == 0 {
        return Ok(());
    }
    let (n_items, channels, plane, nb_i) = (
        set.len as u32,
        set.channels as i32,
        set.plane as i64,
        i32::try_from(nb).map_err(|_| launch_error("batch size"))?,
    );
    let args = Args::new()
        .buf(&set.pixels)
        .buf(&set.labels)
        .val(&channels)
        .val(&plane)
        .val(&n_items)
        .buf(idx)
        .val(&nb_i)
        .buf(&set.scale)
        .buf(&set.shift)
        .buf(x)
        .buf(labels);
    // SAFETY: matches gather_batch_f32's signature; the output lengths are checked above and the
    // kernel reads pixels and labels only at indices below the set's length.
    unsafe { device.launch(KernelSource::Batch, "gather_batch_f32", grid(x.len()), args) }
}
