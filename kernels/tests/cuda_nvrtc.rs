//! Every CUDA kernel source compiles with NVRTC for sm_90 (Hopper), so a kernel that does not
//! compile fails CI. Needs only libnvrtc (no GPU, no driver): from LD_LIBRARY_PATH, the path in
//! THERMOSWEEP_NVRTC, or the `nvidia-cuda-nvrtc-cu12` wheel of `python3`. Without it the test
//! prints "SKIPPED: ..." and passes, so read its output; CI installs the wheel first.
#![cfg(feature = "cuda")]

use sweep_kernels::cuda::sources::compile_with_log;
use sweep_kernels::cuda::{CudaError, KernelSource, compile_cubin, nvrtc_present};

#[test]
fn every_kernel_compiles_for_sm_90() {
    if !nvrtc_present() {
        println!("SKIPPED: libnvrtc not found (pip install nvidia-cuda-nvrtc-cu12)");
        return;
    }
    for kernel in KernelSource::ALL {
        let image = match compile_cubin(kernel, "sm_90") {
            Ok(image) => image,
            Err(CudaError::Compile { kernel, log }) => panic!("{kernel} does not compile:\n{log}"),
            Err(e) => panic!("{}: {e}", kernel.file_name()),
        };
        // A CUBIN is an ELF image.
        assert_eq!(&image[..4], b"\x7fELF", "{}", kernel.file_name());
        println!(
            "compiled {} for sm_90: {} bytes",
            kernel.file_name(),
            image.len()
        );
        // Every entry point is in the image's symbol table.
        for f in kernel.functions() {
            assert!(
                image.windows(f.len()).any(|w| w == f.as_bytes()),
                "{} lacks {f}",
                kernel.file_name()
            );
        }
    }
}

#[test]
fn a_broken_kernel_is_a_compile_error_not_a_panic() {
    if !nvrtc_present() {
        println!("SKIPPED: libnvrtc not found (pip install nvidia-cuda-nvrtc-cu12)");
        return;
    }
    // An unknown architecture makes NVRTC fail; the failure comes back as a value.
    match compile_cubin(KernelSource::SiUpdate, "sm_1") {
        Err(CudaError::Compile { kernel, log }) => {
            assert_eq!(kernel, "si_update.cu");
            assert!(!log.is_empty());
        }
        other => panic!("expected a compile error, got {other:?}"),
    }
}

#[test]
fn the_second_compile_comes_from_the_cache() {
    if !nvrtc_present() {
        println!("SKIPPED: libnvrtc not found (pip install nvidia-cuda-nvrtc-cu12)");
        return;
    }
    let a = compile_cubin(KernelSource::Nearest, "sm_90").expect("compiles");
    let b = compile_cubin(KernelSource::Nearest, "sm_90").expect("compiles");
    assert!(std::sync::Arc::ptr_eq(&a, &b));
}

#[test]
fn no_kernel_spills_registers_on_sm_90() {
    if !nvrtc_present() {
        println!("SKIPPED: libnvrtc not found (pip install nvidia-cuda-nvrtc-cu12)");
        return;
    }
    for kernel in KernelSource::ALL {
        let (_, log) =
            compile_with_log(kernel, "sm_90", &["--ptxas-options=-v"]).expect("compiles");
        let spills: Vec<&str> = log.lines().filter(|l| l.contains("spill stores")).collect();
        assert_eq!(spills.len(), kernel.functions().len(), "{log}");
        for line in spills {
            assert!(
                line.contains(" 0 bytes spill stores"),
                "{}: {line}",
                kernel.file_name()
            );
        }
        for line in log.lines().filter(|l| l.contains("registers")) {
            println!("{}: {}", kernel.file_name(), line.trim());
        }
    }
}
