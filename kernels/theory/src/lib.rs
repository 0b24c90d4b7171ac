//! Closed forms of thermosweep's science (SPEC.md §2–5, §9, §16): von Mises–Fisher statistics,
//! per-protocol predictions, thermodynamic variables. Pure functions, no I/O.
