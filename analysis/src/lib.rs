//! thermosweep's analysis (issue 4, DESIGN §6): turns the result rows of a finished sweep into
//! the law checks of the "ideal gas" description of scale-invariant SGD (verdict.json), and
//! writes the report (report.md, report.html, plots/). The coordinator and `sweepctl report DIR`
//! call the same two functions: [`analyse()`] (rows → [`Verdict`]) and [`report_dir`] (a results
//! folder → every report file).
//!
//! Modules:
//! * [`sweep`]: rows → validated points with derived variables (T, P, V, R, σ², F, G);
//! * `theory`: per-point predictions (SDE, App. H, exact discrete; exact VMF for the toy);
//! * `checks`: one module per check id of DESIGN §6, each with its default tolerance;
//! * [`fit`]: the quadratic entropy surface of SPEC §8;
//! * `bootstrap`, `stats`: confidence intervals;
//! * [`options`]: overrides and the constants behind default tolerances;
//! * [`verdict`]: the verdict.json types;
//! * `report`: report_dir, markdown, HTML, plots.

mod analyse;
mod bootstrap;
mod checks;
pub mod error;
pub mod fit;
pub mod options;
mod report;
mod stats;
pub mod sweep;
mod theory;
pub mod verdict;

pub use analyse::analyse;
pub use error::AnalysisError;
pub use options::{AnalysisOptions, CHECK_IDS};
pub use report::{FigureSummary, render_figures, report_dir};
pub use verdict::{Check, Fit, Skipped, Verdict};
