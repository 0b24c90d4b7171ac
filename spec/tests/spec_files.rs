//! Spec files: the shipped examples parse, the parsed values are the ones written (or the
//! documented defaults), and adiabat paths keep their invariant under exact theory.

use sweep_spec::{Backend, Design, Estimator, SweepSpec, Workload, parse};
use sweep_theory::gas::total_entropy;
use sweep_theory::{AdiabatLaw, Hyper, Protocol, predict};

fn read(path: &str) -> SweepSpec {
    let full = format!("{}/../{path}", env!("CARGO_MANIFEST_DIR"));
    let text = std::fs::read_to_string(&full).unwrap_or_else(|e| panic!("{full}: {e}"));
    parse(&text).unwrap_or_else(|e| panic!("{path}: {e}"))
}

#[test]
fn every_example_spec_parses() {
    let dir = format!("{}/../examples", env!("CARGO_MANIFEST_DIR"));
    let mut n = 0;
    for sub in ["", "paper"] {
        for entry in std::fs::read_dir(format!("{dir}/{sub}")).expect("examples") {
            let path = entry.expect("entry").path();
            if path.extension().is_some_and(|e| e == "toml") {
                let text = std::fs::read_to_string(&path).expect("read");
                parse(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
                n += 1;
            }
        }
    }
    assert!(n >= 5, "found only {n} example specs");
}

#[test]
fn quickstart_reads_as_written() {
    let s = read("examples/quickstart.toml");
    assert_eq!(
        (s.name.as_str(), s.seed, s.protocol),
        ("quickstart", 42, Protocol::FixedLr)
    );
    assert_eq!(
        s.workload,
        Workload::Isotropic {
            dim: 3,
            sigma2: 1.0,
            target_seed: 44
        }
    );
    let Design::Grid { first, second } = &s.design else {
        panic!("a grid")
    };
    assert_eq!((first.len(), second.len()), (5, 5));
    assert_eq!((first[0], first[4]), (2.5e-3, 2e-2));
    assert_eq!(s.schedule.iterations, 2_000_000);
    assert_eq!(
        (s.entropy.queue, s.entropy.every, s.entropy.estimator),
        (1000, 200, Estimator::Reflected)
    );
    assert_eq!(
        (s.execution.replicas, s.execution.backend),
        (2, Backend::Auto)
    );
    assert_eq!(s.points().len(), 50);
}

#[test]
fn paper_grids_are_17_by_17_meshgrid_ij() {
    for (file, protocol) in [
        ("examples/paper/isotropic-fixed-lr.toml", Protocol::FixedLr),
        (
            "examples/paper/isotropic-fixed-elr.toml",
            Protocol::FixedElr,
        ),
        (
            "examples/paper/isotropic-fixed-sphere.toml",
            Protocol::FixedSphere,
        ),
    ] {
        let s = read(file);
        assert_eq!(s.protocol, protocol);
        let pts = s.points();
        assert_eq!(pts.len(), 289);
        // meshgrid(indexing="ij"): the first axis is the row, the second varies fastest.
        assert_eq!(
            (pts[0].first, pts[1].first, pts[17].first),
            (1e-3, 1e-3, pts[17].first)
        );
        assert!(pts[17].first > pts[0].first && pts[1].second > pts[0].second);
        assert_eq!(s.tasks().len(), 17);
    }
}

#[test]
fn defaults_are_the_documented_ones() {
    let s = parse(
        "version = 1\n[workload]\nkind = \"isotropic\"\n[protocol]\nkind = \"fixed_elr\"\n\
         [grid]\nelr = [0.01]\nwd = [0.01, 0.02]\n[schedule]\niterations = 1_000_000\n",
    )
    .expect("minimal spec");
    assert_eq!((s.name.as_str(), s.seed, s.init_radius), ("sweep", 0, 1.0));
    assert_eq!(
        s.workload,
        Workload::Isotropic {
            dim: 3,
            sigma2: 1.0,
            target_seed: 44
        }
    );
    assert_eq!(
        (s.schedule.log_every, s.schedule.average_last),
        (50, 125_000)
    );
    assert_eq!(
        (
            s.entropy.queue,
            s.entropy.every,
            s.entropy.log_every,
            s.entropy.average_last
        ),
        (1000, 50, 20_000, 10)
    );
    assert_eq!(
        (
            s.execution.replicas,
            s.execution.points_per_task,
            s.execution.max_attempts
        ),
        (1, 16, 3)
    );
}

#[test]
fn isentrope_paths_keep_total_entropy() {
    let s = read("examples/paper/isotropic-adiabat-fixed-elr.toml");
    let Design::Adiabats {
        law,
        free_is_first,
        paths,
    } = &s.design
    else {
        panic!("adiabats")
    };
    assert_eq!(
        (*law, *free_is_first, paths.len()),
        (AdiabatLaw::Isentrope, false, 3)
    );
    let entropy = |(elr, wd): (f64, f64)| {
        let h = Hyper::new(Protocol::FixedElr, elr, wd).expect("hyper");
        let t = predict::sde_temperature(&h, 3, 1.0).expect("T");
        let r = predict::sde_mechanics(&h, 3, 1.0).expect("r").radius;
        total_entropy(3, t, r).expect("S")
    };
    for path in paths {
        assert_eq!(path.len(), 9);
        let s0 = entropy(path[0]);
        for &pt in path {
            assert!(
                (entropy(pt) - s0).abs() < 1e-8,
                "S drifts along the isentrope at {pt:?}"
            );
        }
        // The free axis takes the listed values; the partner moves.
        assert!(path[8].1 > path[0].1 && path[8].0 != path[0].0);
    }
    assert_eq!(s.points().iter().filter(|p| p.path == Some(2)).count(), 18);
}

#[test]
fn power_law_paths_keep_p_v_gamma() {
    let s = parse(
        "version = 1\n[workload]\nkind = \"isotropic\"\ndim = 10\n[protocol]\nkind = \"fixed_elr\"\n\
         [adiabat]\nthrough = [{ elr = 0.01, wd = 0.01 }]\nelr = [0.005, 0.01, 0.02]\ngamma = 2.0\n\
         [schedule]\niterations = 1_000_000\n",
    )
    .expect("power-law adiabat");
    let Design::Adiabats {
        paths,
        free_is_first: true,
        ..
    } = &s.design
    else {
        panic!("elr free")
    };
    // Fixed ELR, γ = 2 at the SDE state: P·V² ∝ λ·(η_eff/λ)² = η_eff²/λ (SPEC §3.7).
    let inv: Vec<f64> = paths[0].iter().map(|(elr, wd)| elr * elr / wd).collect();
    for x in &inv {
        assert!((x / inv[0] - 1.0).abs() < 1e-9, "{inv:?}");
    }
}
