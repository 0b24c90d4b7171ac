//! With THERMOSWEEP_CUBIN_DIR set, every compiled kernel image is written there under a name
//! carrying its architecture and a hash of source and options, so a GPU machine without NVRTC can
//! load images compiled elsewhere. Its own process: it sets an environment variable. Needs NVRTC
//! (prints "SKIPPED: ..." without it).
#![cfg(feature = "cuda")]

use sweep_kernels::cuda::sources::cubin_file_name;
use sweep_kernels::cuda::{CUBIN_DIR_ENV, KernelSource, compile_cubin, nvrtc_present};

#[test]
fn compiled_images_are_stored_for_machines_without_nvrtc() {
    let dir = std::env::temp_dir().join(format!("thermosweep-cubin-{}", std::process::id()));
    // SAFETY: the only test in this process, set before any thread reads the environment.
    unsafe { std::env::set_var(CUBIN_DIR_ENV, &dir) };
    if !nvrtc_present() {
        println!("SKIPPED: libnvrtc not found (pip install nvidia-cuda-nvrtc-cu12)");
        return;
    }
    for kernel in KernelSource::ALL {
        let image = compile_cubin(kernel, "sm_90").expect("compiles");
        let stored = std::fs::read(dir.join(cubin_file_name(kernel, "sm_90"))).expect("stored");
        assert_eq!(stored, *image, "{}", kernel.file_name());
    }
    std::fs::remove_dir_all(&dir).expect("clean up");
}
