//! With the `cuda` feature: compiles every kernel source of `cuda/modules.rs` (and the runtime's
//! own self-test kernels) for the CPU with the system C++ compiler, against
//! `cuda/on_cpu/cuda_on_cpu.h`, so that the very text NVRTC compiles also runs in `cargo test`
//! on machines without a GPU (`src/cuda/on_cpu.rs`). Each source becomes one module whose table
//! lists its `__global__` functions, found in the source text, so a new kernel is registered
//! without an edit here. Without the feature this script does nothing.

fn main() {
    #[cfg(feature = "cuda")]
    on_cpu::build();
}

#[cfg(feature = "cuda")]
mod on_cpu {
    use std::fmt::Write as _;
    use std::path::{Path, PathBuf};

    include!("cuda/modules.rs");

    /// The runtime's self-test kernels: compiled for the CPU only.
    const SELFTEST: (&str, &[&str]) = ("on_cpu/selftest.cu", &[]);

    pub fn build() {
        let root = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").expect("cargo sets it"));
        let cuda = root.join("cuda");
        let out = PathBuf::from(std::env::var("OUT_DIR").expect("cargo sets it")).join("on_cpu");
        std::fs::create_dir_all(&out).expect("OUT_DIR is writable");
        println!("cargo:rerun-if-changed=cuda");
        let mut build = cc::Build::new();
        build
            .cpp(true)
            .std("c++17")
            .opt_level(2)
            .include(&cuda)
            .include(cuda.join("on_cpu"))
            // Only explicit fma/fmaf fuse (NVRTC --fmad=false; the Rust code's mul_add).
            .flag("-ffp-contract=off")
            .flag("-fno-fast-math")
            .flag_if_supported("-Wno-unknown-pragmas")
            .flag_if_supported("-Wno-unused-parameter")
            .file(cuda.join("on_cpu/runtime.cpp"));
        // fmaf as one instruction rather than a library call, where the machine that builds is
        // the one that runs (fma is correctly rounded either way: the same bits).
        if std::env::var("TARGET").ok() == std::env::var("HOST").ok() && host_has_fma() {
            build.flag("-mfma");
        }
        let mut symbols = Vec::new();
        for (file, headers) in MODULES.iter().copied().chain([SELFTEST]) {
            let text = std::fs::read_to_string(cuda.join(file))
                .unwrap_or_else(|e| panic!("reading kernels/cuda/{file}: {e}"));
            let symbol = format!("cuda_on_cpu_module_{}", stem(file));
            let unit = module_unit(file, headers, &text, &symbol);
            let path = out.join(format!("{}.cpp", stem(file)));
            std::fs::write(&path, unit).expect("OUT_DIR is writable");
            build.file(&path);
            symbols.push(symbol);
        }
        let path = out.join("modules.cpp");
        std::fs::write(&path, registry(&symbols)).expect("OUT_DIR is writable");
        build.file(&path);
        build.compile("cuda_on_cpu");
    }

    #[cfg(target_arch = "x86_64")]
    fn host_has_fma() -> bool {
        std::is_x86_feature_detected!("fma")
    }

    #[cfg(not(target_arch = "x86_64"))]
    fn host_has_fma() -> bool {
        false
    }

    fn stem(file: &str) -> String {
        Path::new(file)
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("kernel files have UTF-8 names")
            .replace(['-', '.'], "_")
    }

    /// The source without comments, so that names in comments are not taken for code.
    fn strip_comments(text: &str) -> String {
        let mut out = String::with_capacity(text.len());
        let mut rest = text;
        while !rest.is_empty() {
            if let Some(r) = rest.strip_prefix("//") {
                rest = r.find('\n').map_or("", |i| &r[i..]);
            } else if let Some(r) = rest.strip_prefix("/*") {
                rest = r.find("*/").map_or("", |i| &r[i + 2..]);
            } else {
                let c = rest.chars().next().expect("non-empty");
                out.push(c);
                rest = &rest[c.len_utf8()..];
            }
        }
        out
    }

    /// The names of the `__global__` functions of a source.
    pub fn kernel_names(text: &str) -> Vec<String> {
        let code = strip_comments(text);
        let mut names = Vec::new();
        for (at, _) in code.match_indices("__global__") {
            let mut rest = code[at + "__global__".len()..].trim_start();
            if let Some(r) = rest.strip_prefix("void") {
                rest = r.trim_start();
            }
            if let Some(r) = rest.strip_prefix("__launch_bounds__") {
                rest = r.find(')').map_or("", |i| r[i + 1..].trim_start());
            }
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            if !name.is_empty() {
                names.push(name);
            }
        }
        names
    }

    /// `(element type, name)` of the source's `extern __shared__ T name[]`, if any.
    fn dynamic_shared(file: &str, text: &str) -> Option<(String, String)> {
        let code = strip_comments(text);
        let mut found: Option<(String, String)> = None;
        for (at, _) in code.match_indices("extern __shared__") {
            let decl = &code[at + "extern __shared__".len()..];
            let decl = &decl[..decl.find('[').expect("extern __shared__ declares an array")];
            let mut words: Vec<&str> = decl.split_whitespace().collect();
            let name = words.pop().expect("a name").to_string();
            let ty = words.join(" ");
            if let Some((_, other)) = &found {
                assert!(
                    *other == name,
                    "{file}: two dynamic shared arrays ({other}, {name}) alias on a GPU; \
                     cuda-on-cpu supports one name per source"
                );
            }
            found = Some((ty, name));
        }
        found
    }

    fn module_unit(file: &str, headers: &[&str], text: &str, symbol: &str) -> String {
        let mut u = String::new();
        let _ = writeln!(u, "// Generated by kernels/build.rs: {file} for the CPU.");
        let _ = writeln!(u, "#include \"cuda_on_cpu.h\"");
        let shared = dynamic_shared(file, text);
        if let Some((ty, name)) = &shared {
            let _ = writeln!(
                u,
                "alignas(16) thread_local {ty} {name}[CUDA_ON_CPU_DYNAMIC_SHARED_BYTES / sizeof({ty})];"
            );
        }
        for h in headers {
            let _ = writeln!(u, "#include \"{h}\"");
        }
        let _ = writeln!(u, "#include \"{file}\"");
        let names = kernel_names(text);
        assert!(!names.is_empty(), "{file} has no __global__ function");
        let _ = writeln!(u, "static const CudaOnCpuKernel kernels[] = {{");
        for n in &names {
            let _ = writeln!(u, "    CUDA_ON_CPU_KERNEL({n}),");
        }
        let _ = writeln!(u, "}};");
        let (dyn_fn, dyn_bytes) = match &shared {
            Some((_, name)) => {
                let _ = writeln!(
                    u,
                    "static unsigned char* dynamic_shared() {{ return reinterpret_cast<unsigned char*>({name}); }}"
                );
                ("dynamic_shared", "sizeof(".to_string() + name + ")")
            }
            None => ("nullptr", "0".to_string()),
        };
        let _ = writeln!(
            u,
            "extern \"C\" const CudaOnCpuModule {symbol} = {{\"{file}\", kernels, {}, {dyn_fn}, {dyn_bytes}}};",
            names.len()
        );
        u
    }

    fn registry(symbols: &[String]) -> String {
        let mut u = String::from(
            "// Generated by kernels/build.rs: every module.\n#include \"cuda_on_cpu.h\"\n",
        );
        for s in symbols {
            let _ = writeln!(u, "extern \"C\" const CudaOnCpuModule {s};");
        }
        let _ = writeln!(u, "static const CudaOnCpuModule* const all[] = {{");
        for s in symbols {
            let _ = writeln!(u, "    &{s},");
        }
        let _ = writeln!(u, "}};");
        let _ = writeln!(
            u,
            "extern \"C\" const CudaOnCpuModule* const* cuda_on_cpu_modules(size_t* n) {{ *n = {}; return all; }}",
            symbols.len()
        );
        u
    }
}
