//! The kernel sources (files under `kernels/cuda/`, embedded at build time) and their NVRTC
//! compilation to CUBIN. NVRTC has no headers here, so a translation unit is the headers that
//! `kernels/cuda/modules.rs` lists for the file, then the file (the same table from which
//! `build.rs` composes the CPU execution's units). Compiled images are cached per (kernel, options), the options
//! naming the target architecture, so each device kind compiles each kernel once per process.
//!
//! Prebuilt images: with `THERMOSWEEP_CUBIN_DIR` set, a compiled image is also written there, and
//! read from there when NVRTC is absent (a GPU machine without NVRTC runs images compiled on
//! another machine). File names carry a hash of the source and options, so a stale image is
//! never loaded.
//!
//! Options: `--fmad=false` (only the explicit `fma` calls fuse, as in the CPU code), IEEE
//! division and square root, no flush-to-zero. Together with philox.cuh these make the device
//! noise and chain arithmetic equal the CPU's.

use std::collections::HashMap;
use std::ffi::CString;
use std::sync::{Arc, Mutex, OnceLock};

use cudarc::nvrtc::{result, sys};

use super::error::CudaError;
use super::libs::nvrtc_present;

/// One kernel source file.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KernelSource {
    /// `isotropic.cu`: the isotropic chains (with `philox.cuh`).
    Isotropic,
    /// `nearest.cu`: fused pairwise distances and row minima.
    Nearest,
    /// `si_update.cu`: the scale-invariant weight update.
    SiUpdate,
    /// `gemm.cu`: row-major f32 matrix products (the networks' convolutions and head).
    Gemm,
    /// `im2col.cu`: a convolution's column matrix and its adjoint.
    Im2col,
    /// `batchnorm.cu`: BatchNorm without affine parameters, training mode.
    BatchNorm,
    /// `pointwise.cu`: ReLU, pooling, residual additions and the head's cross-entropy.
    Pointwise,
    /// `measure.cu`: the f64 reductions of a gradient measurement.
    Measure,
    /// `batch.cu`: mini-batch indices and the batch gathered from a device-resident set (with
    /// `philox.cuh`).
    Batch,
}

mod table {
    include!("../../cuda/modules.rs");
}
pub use table::MODULES;

/// The text of a file under `kernels/cuda/`, embedded at build time.
fn text(file: &str) -> &'static str {
    match file {
        "philox.cuh" => include_str!("../../cuda/philox.cuh"),
        "isotropic.cu" => include_str!("../../cuda/isotropic.cu"),
        "nearest.cu" => include_str!("../../cuda/nearest.cu"),
        "si_update.cu" => include_str!("../../cuda/si_update.cu"),
        "gemm.cu" => include_str!("../../cuda/gemm.cu"),
        "im2col.cu" => include_str!("../../cuda/im2col.cu"),
        "batchnorm.cu" => include_str!("../../cuda/batchnorm.cu"),
        "pointwise.cu" => include_str!("../../cuda/pointwise.cu"),
        "measure.cu" => include_str!("../../cuda/measure.cu"),
        "batch.cu" => include_str!("../../cuda/batch.cu"),
        _ => "",
    }
}

impl KernelSource {
    /// Every kernel source.
    pub const ALL: [KernelSource; 9] = [
        Self::Isotropic,
        Self::Nearest,
        Self::SiUpdate,
        Self::Gemm,
        Self::Im2col,
        Self::BatchNorm,
        Self::Pointwise,
        Self::Measure,
        Self::Batch,
    ];

    /// The file name under `kernels/cuda/`.
    pub fn file_name(self) -> &'static str {
        match self {
            Self::Isotropic => "isotropic.cu",
            Self::Nearest => "nearest.cu",
            Self::SiUpdate => "si_update.cu",
            Self::Gemm => "gemm.cu",
            Self::Im2col => "im2col.cu",
            Self::BatchNorm => "batchnorm.cu",
            Self::Pointwise => "pointwise.cu",
            Self::Measure => "measure.cu",
            Self::Batch => "batch.cu",
        }
    }

    /// The kernel file alone (without the headers prepended to it).
    pub fn file_text(self) -> &'static str {
        text(self.file_name())
    }

    /// The complete, self-contained translation unit: the file's headers of [`MODULES`], then
    /// the file.
    pub fn source(self) -> String {
        let headers = MODULES
            .iter()
            .find(|(file, _)| *file == self.file_name())
            .map_or(&[][..], |(_, h)| *h);
        let mut unit = String::new();
        for h in headers {
            unit.push_str(text(h));
            unit.push('\n');
        }
        unit.push_str(self.file_text());
        unit
    }

    /// The `extern "C"` kernels the file defines.
    pub fn functions(self) -> &'static [&'static str] {
        match self {
            Self::Isotropic => &["iso_init", "iso_advance"],
            Self::Nearest => &["nn_upper", "nn_candidates"],
            Self::SiUpdate => &["si_norm_sq", "si_step", "si_project"],
            Self::Gemm => &["gemm_f32"],
            Self::Im2col => &["im2col_f32", "col2im_f32"],
            Self::BatchNorm => &[
                "bn_forward_f32",
                "bn_backward_f32",
                "bn_apply_f32",
                "bn_running_f64",
            ],
            Self::Pointwise => &[
                "relu_forward_f32",
                "relu_backward_f32",
                "maxpool_forward_f32",
                "maxpool_backward_f32",
                "cross_entropy_f32",
                "add_f32",
                "avgpool_forward_f32",
                "avgpool_backward_f32",
            ],
            Self::Measure => &["axpy_f64", "norm_sq_f64", "sq_distance_f64"],
            Self::Batch => &["batch_indices_u32", "gather_batch_f32"],
        }
    }
}

/// The real architecture name of compute capability `(major, minor)`, e.g. `sm_90`.
pub fn arch_name(major: i32, minor: i32) -> String {
    format!("sm_{major}{minor}")
}

/// NVRTC options for a real architecture such as `sm_90`.
pub fn compile_options(arch: &str) -> Vec<String> {
    vec![
        format!("--gpu-architecture={arch}"),
        "--fmad=false".into(),
        "--prec-div=true".into(),
        "--prec-sqrt=true".into(),
        "--ftz=false".into(),
        "--std=c++17".into(),
    ]
}

/// Environment variable naming a directory of prebuilt CUBIN images (read and written).
pub const CUBIN_DIR_ENV: &str = "THERMOSWEEP_CUBIN_DIR";

/// FNV-1a, 64 bit: a stable hash for image file names (not for security).
fn fnv1a(bytes: impl Iterator<Item = u8>) -> u64 {
    bytes.fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// The file name of `kernel`'s image for `arch`, e.g. `isotropic-sm_90-<hash>.cubin`.
pub fn cubin_file_name(kernel: KernelSource, arch: &str) -> String {
    let src = kernel.source();
    let opts = compile_options(arch).join(" ");
    let hash = fnv1a(src.bytes().chain([0]).chain(opts.bytes()));
    let stem = kernel.file_name().trim_end_matches(".cu");
    format!("{stem}-{arch}-{hash:016x}.cubin")
}

/// The prebuilt image of `kernel` for `arch`, if `THERMOSWEEP_CUBIN_DIR` holds one.
fn prebuilt(kernel: KernelSource, arch: &str) -> Option<Vec<u8>> {
    let dir = std::env::var_os(CUBIN_DIR_ENV)?;
    let path = std::path::Path::new(&dir).join(cubin_file_name(kernel, arch));
    let image = std::fs::read(&path).ok()?;
    tracing::debug!(path = %path.display(), "prebuilt CUBIN");
    Some(image)
}

/// Writes a compiled image to `THERMOSWEEP_CUBIN_DIR` when set (best effort).
fn store(kernel: KernelSource, arch: &str, image: &[u8]) {
    let Some(dir) = std::env::var_os(CUBIN_DIR_ENV) else {
        return;
    };
    let path = std::path::Path::new(&dir).join(cubin_file_name(kernel, arch));
    if let Err(e) = std::fs::create_dir_all(&dir).and_then(|()| std::fs::write(&path, image)) {
        tracing::warn!(path = %path.display(), error = %e, "could not store CUBIN");
    }
}

/// Whether every kernel can be had for `arch`: NVRTC loads, or all images are prebuilt.
pub fn kernels_available(arch: &str) -> bool {
    nvrtc_present()
        || KernelSource::ALL
            .iter()
            .all(|k| prebuilt(*k, arch).is_some())
}

type Cache = Mutex<HashMap<(KernelSource, Vec<String>), Arc<Vec<u8>>>>;

/// Compiles `kernel` for the real architecture `arch` (e.g. `sm_90`) to a CUBIN image, from the
/// process-wide cache when it was compiled before with the same options, or without NVRTC from
/// the prebuilt images of `THERMOSWEEP_CUBIN_DIR`.
pub fn compile_cubin(kernel: KernelSource, arch: &str) -> Result<Arc<Vec<u8>>, CudaError> {
    static CACHE: OnceLock<Cache> = OnceLock::new();
    let options = compile_options(arch);
    let cache = CACHE.get_or_init(Default::default);
    let key = (kernel, options.clone());
    if let Some(hit) = cache.lock().ok().and_then(|c| c.get(&key).cloned()) {
        return Ok(hit);
    }
    let image = if nvrtc_present() {
        let (image, _log) = compile_uncached(kernel, &options)?;
        store(kernel, arch, &image);
        image
    } else {
        prebuilt(kernel, arch).ok_or(CudaError::NoNvrtc)?
    };
    let image = Arc::new(image);
    if let Ok(mut c) = cache.lock() {
        c.insert(key, image.clone());
    }
    Ok(image)
}

/// Compiles `kernel` for `arch` with extra NVRTC options (e.g. `--ptxas-options=-v`), uncached;
/// returns the image and NVRTC's log.
pub fn compile_with_log(
    kernel: KernelSource,
    arch: &str,
    extra: &[&str],
) -> Result<(Vec<u8>, String), CudaError> {
    let mut options = compile_options(arch);
    options.extend(extra.iter().map(|o| o.to_string()));
    compile_uncached(kernel, &options)
}

fn compile_uncached(
    kernel: KernelSource,
    options: &[String],
) -> Result<(Vec<u8>, String), CudaError> {
    if !nvrtc_present() {
        return Err(CudaError::NoNvrtc);
    }
    let fail = |log: String| CudaError::Compile {
        kernel: kernel.file_name().to_string(),
        log,
    };
    let src = CString::new(kernel.source()).map_err(|_| fail("source contains a NUL".into()))?;
    let name = CString::new(kernel.file_name()).map_err(|_| fail("bad name".into()))?;
    let prog = result::create_program(&src, Some(&name)).map_err(|e| fail(format!("{e:?}")))?;
    // SAFETY: `prog` was just created and is destroyed exactly once below; `src` and `name`
    // outlive it.
    let out = unsafe {
        let compiled = result::compile_program(prog, options);
        let log = result::get_program_log(prog)
            .map(|l| c_chars_to_string(&l))
            .unwrap_or_default();
        let image = match compiled {
            Ok(()) => get_cubin(prog)
                .map(|image| (image, log.clone()))
                .map_err(|e| fail(format!("nvrtcGetCUBIN: {e:?}\n{log}"))),
            Err(e) => Err(fail(format!("{e:?}\n{log}"))),
        };
        let _ = result::destroy_program(prog);
        image
    };
    let (image, log) = out?;
    tracing::debug!(
        kernel = kernel.file_name(),
        bytes = image.len(),
        "compiled with NVRTC"
    );
    Ok((image, log))
}

/// The CUBIN of a compiled program.
///
/// # Safety
/// `prog` must be a live, successfully compiled program.
unsafe fn get_cubin(prog: sys::nvrtcProgram) -> Result<Vec<u8>, result::NvrtcError> {
    let mut size = 0usize;
    // SAFETY: the caller's contract; `size` is a valid out-pointer.
    unsafe { sys::nvrtcGetCUBINSize(prog, &mut size).result()? };
    let mut buf = vec![0u8; size];
    // SAFETY: `buf` holds the `size` bytes NVRTC reported.
    unsafe { sys::nvrtcGetCUBIN(prog, buf.as_mut_ptr().cast()).result()? };
    Ok(buf)
}

fn c_chars_to_string(chars: &[std::ffi::c_char]) -> String {
    let bytes: Vec<u8> = chars
        .iter()
        .map(|c| *c as u8)
        .take_while(|b| *b != 0)
        .collect();
    String::from_utf8_lossy(&bytes).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sources_are_self_contained() {
        for k in KernelSource::ALL {
            let src = k.source();
            assert!(
                !src.contains("#include"),
                "{} includes a header",
                k.file_name()
            );
            for f in k.functions() {
                assert!(src.contains(&format!("void {f}(")), "{f} missing");
            }
        }
        assert!(KernelSource::Isotropic.source().contains("philox4x32_10"));
        assert_eq!(arch_name(9, 0), "sm_90");
        // The table and the enum name the same files, and every file is embedded.
        let files: Vec<&str> = KernelSource::ALL.iter().map(|k| k.file_name()).collect();
        let listed: Vec<&str> = MODULES.iter().map(|(f, _)| *f).collect();
        assert_eq!(files, listed);
        for (file, headers) in MODULES {
            assert!(!text(file).is_empty(), "{file} is not embedded");
            assert!(
                headers.iter().all(|h| !text(h).is_empty()),
                "{file}'s headers"
            );
        }
    }

    #[test]
    fn image_names_change_with_source_and_arch() {
        let a = cubin_file_name(KernelSource::Isotropic, "sm_90");
        assert!(
            a.starts_with("isotropic-sm_90-") && a.ends_with(".cubin"),
            "{a}"
        );
        assert_eq!(a, cubin_file_name(KernelSource::Isotropic, "sm_90"));
        assert_ne!(a, cubin_file_name(KernelSource::Isotropic, "sm_80"));
        assert_ne!(
            cubin_file_name(KernelSource::Nearest, "sm_90"),
            cubin_file_name(KernelSource::SiUpdate, "sm_90")
        );
    }
}
