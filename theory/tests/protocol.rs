//! Protocol names, parsing and axes.
#![allow(clippy::unwrap_used)]

use sweep_theory::{Axis, Hyper, Protocol, TheoryError};

#[test]
fn names_round_trip() {
    for p in Protocol::ALL {
        assert_eq!(p.as_str().parse::<Protocol>().unwrap(), p);
        assert_eq!(p.to_string(), p.as_str());
    }
    assert_eq!(Protocol::FixedSphere.as_str(), "fixed_sphere");
    assert_eq!(Protocol::FixedElr.axis_names(), ("elr", "wd"));
    assert_eq!(Protocol::FixedLr.axis_names(), ("lr", "wd"));
    assert_eq!(Protocol::FixedSphere.axis_names(), ("elr", "radius"));
}

#[test]
fn unknown_name_is_reported() {
    let err = "fixed_radius".parse::<Protocol>().unwrap_err();
    assert_eq!(err, TheoryError::UnknownProtocol("fixed_radius".into()));
    assert!(err.to_string().contains("fixed_radius"));
}

#[test]
fn hyper_axes() {
    let h = Hyper::new(Protocol::FixedSphere, 0.1, 2.0).unwrap();
    assert_eq!(h.axis(Axis::Second), 2.0);
    let g = h.with_axis(Axis::First, 0.3).unwrap();
    assert_eq!((g.first, g.second), (0.3, 2.0));
    assert_eq!(Axis::First.other(), Axis::Second);
    let err = h.with_axis(Axis::Second, 0.0).unwrap_err();
    assert!(err.to_string().contains("radius"), "{err}");
}
