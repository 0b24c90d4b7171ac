//! Von Mises–Fisher sampling (Wood 1994).
