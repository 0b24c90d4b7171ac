//! Axis values: explicit lists and numpy.geomspace(first, last, count), checked positive.

use crate::error::Problems;
use crate::raw::RawAxis;

/// `count` values from `first` to `last`, evenly spaced in log (numpy.geomspace semantics: both
/// ends exact, one value when `count = 1`). Inputs must be positive, `count ≥ 1`.
pub fn geomspace(first: f64, last: f64, count: usize) -> Vec<f64> {
    if count == 1 {
        return vec![first];
    }
    let (a, b) = (first.ln(), last.ln());
    let step = (b - a) / (count - 1) as f64;
    (0..count)
        .map(|i| match i {
            0 => first,
            i if i == count - 1 => last,
            i => (a + step * i as f64).exp(),
        })
        .collect()
}

/// The values of axis `key`, or `None` after recording why they are unusable.
pub(crate) fn axis_values(key: &str, raw: &RawAxis, problems: &mut Problems) -> Option<Vec<f64>> {
    let values = match raw {
        RawAxis::List(v) => v.clone(),
        RawAxis::Geomspace(g) => {
            let [first, last, count] = g.geomspace[..] else {
                problems.add(key, "geomspace takes exactly [first, last, count]");
                return None;
            };
            if !(count >= 1.0 && count.fract() == 0.0 && count <= 1e6) {
                problems.add(
                    key,
                    format!("geomspace count must be a whole number from 1 to 10⁶, got {count}"),
                );
                return None;
            }
            if !(first > 0.0 && last > 0.0 && first.is_finite() && last.is_finite()) {
                problems.add(
                    key,
                    format!("geomspace ends must be positive and finite, got {first} and {last}"),
                );
                return None;
            }
            geomspace(first, last, count as usize)
        }
    };
    if values.is_empty() {
        problems.add(key, "must not be empty");
        return None;
    }
    if let Some(bad) = values.iter().find(|x| !(x.is_finite() && **x > 0.0)) {
        problems.add(
            key,
            format!("every value must be positive and finite, got {bad}"),
        );
        return None;
    }
    Some(values)
}

#[cfg(test)]
mod tests {
    use super::geomspace;

    #[test]
    fn geomspace_matches_numpy_semantics() {
        let g = geomspace(1e-3, 1e-1, 17);
        assert_eq!(g.len(), 17);
        assert_eq!((g[0], g[16]), (1e-3, 1e-1));
        assert!((g[8] - 1e-2).abs() < 1e-17);
        for w in g.windows(2) {
            assert!((w[1] / w[0] - 10f64.powf(0.125)).abs() < 1e-12);
        }
        assert_eq!(geomspace(3.0, 7.0, 1), vec![3.0]);
        assert_eq!(geomspace(0.5, 0.25, 2), vec![0.5, 0.25]);
    }
}
