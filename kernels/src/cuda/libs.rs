//! Finding the CUDA libraries without panicking. cudarc loads `libcuda`/`libnvrtc` lazily and
//! panics when they are missing, so every entry point of the backend asks here first.
//!
//! NVRTC also comes from the `nvidia-cuda-nvrtc-cu12` Python wheel, whose `libnvrtc.so.12` sits
//! in `site-packages/nvidia/cuda_nvrtc/lib`, on no library path. It is found, in order, through:
//! the normal search (`LD_LIBRARY_PATH`, ld.so.cache), the path in `THERMOSWEEP_NVRTC`, and the
//! wheel's directory as `python3` reports it. A file found by path is loaded once with
//! `RTLD_GLOBAL`; the dynamic loader then matches cudarc's later `dlopen("libnvrtc.so.12")`
//! against its soname.

use std::path::PathBuf;
use std::sync::OnceLock;

/// Environment variable naming an explicit `libnvrtc.so.12` to load.
pub const NVRTC_PATH_ENV: &str = "THERMOSWEEP_NVRTC";

/// Whether the CUDA driver library can be loaded (cached after the first call).
pub fn driver_present() -> bool {
    static PRESENT: OnceLock<bool> = OnceLock::new();
    // SAFETY: `is_culib_present` only tries `dlopen` on candidate names and drops the handles.
    *PRESENT.get_or_init(|| unsafe { cudarc::driver::sys::is_culib_present() })
}

/// Whether NVRTC can be loaded, after trying the wheel locations (cached after the first call).
pub fn nvrtc_present() -> bool {
    static PRESENT: OnceLock<bool> = OnceLock::new();
    *PRESENT.get_or_init(|| {
        // SAFETY: as in `driver_present`.
        if unsafe { cudarc::nvrtc::sys::is_culib_present() } {
            return true;
        }
        for path in nvrtc_candidates() {
            if preload(&path) {
                // SAFETY: as above.
                if unsafe { cudarc::nvrtc::sys::is_culib_present() } {
                    tracing::debug!(path = %path.display(), "loaded NVRTC by path");
                    return true;
                }
            }
        }
        false
    })
}

/// Files that may be `libnvrtc.so.12`, most explicit first.
fn nvrtc_candidates() -> Vec<PathBuf> {
    let mut out = Vec::new();
    if let Some(p) = std::env::var_os(NVRTC_PATH_ENV) {
        out.push(PathBuf::from(p));
    }
    if let Some(dir) = wheel_dir() {
        out.push(dir.join("lib").join("libnvrtc.so.12"));
    }
    out.retain(|p| p.is_file());
    out
}

/// The `nvidia/cuda_nvrtc` package directory of the `python3` on `PATH`, if it has the wheel.
fn wheel_dir() -> Option<PathBuf> {
    let out = std::process::Command::new("python3")
        .args([
            "-c",
            "import nvidia.cuda_nvrtc as m; print(list(m.__path__)[0])",
        ])
        .stderr(std::process::Stdio::null())
        .output()
        .ok()?;
    if !out.status.success() {
        return None;
    }
    let dir = String::from_utf8(out.stdout).ok()?;
    let dir = dir.trim();
    (!dir.is_empty()).then(|| PathBuf::from(dir))
}

/// Loads `path` globally and keeps it loaded for the life of the process.
#[cfg(unix)]
fn preload(path: &std::path::Path) -> bool {
    use libloading::os::unix::{Library, RTLD_GLOBAL, RTLD_NOW};
    // SAFETY: loading libnvrtc runs no initialisers with preconditions on our side; the handle is
    // leaked on purpose so the library stays mapped for cudarc.
    match unsafe { Library::open(Some(path), RTLD_NOW | RTLD_GLOBAL) } {
        Ok(lib) => {
            std::mem::forget(lib);
            true
        }
        Err(e) => {
            tracing::debug!(path = %path.display(), error = %e, "could not load NVRTC");
            false
        }
    }
}

#[cfg(not(unix))]
fn preload(_path: &std::path::Path) -> bool {
    false
}
