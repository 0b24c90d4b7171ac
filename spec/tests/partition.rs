//! Property tests of the partition of points into tasks: complete, disjoint, contiguous, even,
//! deterministic.

use proptest::prelude::*;
use sweep_spec::partition;

proptest! {
    #[test]
    fn partition_is_complete_disjoint_even_and_deterministic(points in 0u32..5000, per_task in 1u32..300) {
        let tasks = partition(points, per_task);
        prop_assert_eq!(&tasks, &partition(points, per_task));
        let mut next = 0;
        for (i, t) in tasks.iter().enumerate() {
            prop_assert_eq!(t.task as usize, i);
            prop_assert_eq!(t.start, next);
            prop_assert!(t.end > t.start);
            let last = i + 1 == tasks.len();
            let size = t.end - t.start;
            let even = if last { size <= per_task } else { size == per_task };
            prop_assert!(even, "task {} has {} points", i, size);
            next = t.end;
        }
        prop_assert_eq!(next, points);
    }
}
