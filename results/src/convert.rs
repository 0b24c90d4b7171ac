//! Rows ↔ Arrow record batches. [`ParquetRow`] ties a row type to its schema so the writer and the
//! reader are generic over the two files.

use std::path::Path;
use std::sync::Arc;

use arrow_array::{ArrayRef, Float64Array, RecordBatch, StringArray, UInt32Array, UInt64Array};
use arrow_schema::{ArrowError, DataType, SchemaRef};

use super::columns::BatchColumns;
use super::error::ResultsError;
use super::rows::{ResultRow, SeriesRow};
use super::schema::{results_schema, series_schema};

/// A row type stored in a Parquet file: [`ResultRow`] or [`SeriesRow`].
pub trait ParquetRow: Sized + Send + 'static {
    /// The schema written.
    fn schema() -> SchemaRef;

    /// These rows as one batch of [`Self::schema`].
    fn to_batch(rows: &[Self]) -> Result<RecordBatch, ArrowError>;

    /// The rows of a batch read from `file`, whose first row is row `first_row` of the file.
    /// Checks the columns against the contract (see [`crate::read_results`]); a batch
    /// with no rows checks the schema alone.
    fn from_batch(
        batch: &RecordBatch,
        file: &Path,
        first_row: u64,
    ) -> Result<Vec<Self>, ResultsError>;
}

fn strings<R>(rows: &[R], f: fn(&R) -> &str) -> ArrayRef {
    Arc::new(StringArray::from_iter_values(rows.iter().map(f)))
}

fn opt_strings<R>(rows: &[R], f: fn(&R) -> Option<&str>) -> ArrayRef {
    Arc::new(rows.iter().map(f).collect::<StringArray>())
}

fn u32s<R>(rows: &[R], f: fn(&R) -> u32) -> ArrayRef {
    Arc::new(UInt32Array::from_iter_values(rows.iter().map(f)))
}

fn opt_u32s<R>(rows: &[R], f: fn(&R) -> Option<u32>) -> ArrayRef {
    Arc::new(rows.iter().map(f).collect::<UInt32Array>())
}

fn u64s<R>(rows: &[R], f: fn(&R) -> u64) -> ArrayRef {
    Arc::new(UInt64Array::from_iter_values(rows.iter().map(f)))
}

fn f64s<R>(rows: &[R], f: fn(&R) -> Option<f64>) -> ArrayRef {
    Arc::new(rows.iter().map(f).collect::<Float64Array>())
}

impl ParquetRow for ResultRow {
    fn schema() -> SchemaRef {
        results_schema()
    }

    fn to_batch(rows: &[Self]) -> Result<RecordBatch, ArrowError> {
        let columns = vec![
            strings(rows, |r| &r.sweep),
            u32s(rows, |r| r.point),
            u32s(rows, |r| r.replica),
            u64s(rows, |r| r.seed),
            strings(rows, |r| &r.workload),
            strings(rows, |r| &r.protocol),
            u64s(rows, |r| r.dim),
            f64s(rows, |r| r.lr),
            f64s(rows, |r| r.elr),
            f64s(rows, |r| r.wd),
            f64s(rows, |r| r.radius),
            u64s(rows, |r| r.iterations),
            f64s(rows, |r| r.loss_mean),
            f64s(rows, |r| r.radius_mean),
            f64s(rows, |r| r.entropy_unit),
            f64s(rows, |r| r.entropy),
            f64s(rows, |r| r.sigma2),
            f64s(rows, |r| r.trace_sigma),
            f64s(rows, |r| r.full_grad_sq),
            f64s(rows, |r| r.temperature),
            f64s(rows, |r| r.pressure),
            f64s(rows, |r| r.volume),
            f64s(rows, |r| r.wd_eff),
            strings(rows, |r| r.status.as_str()),
            opt_strings(rows, |r| r.error.as_deref()),
            strings(rows, |r| &r.backend),
            strings(rows, |r| &r.agent),
            u32s(rows, |r| r.attempt),
            f64s(rows, |r| Some(r.wall_seconds)),
            f64s(rows, |r| r.loss_sem),
            f64s(rows, |r| r.radius_sem),
            f64s(rows, |r| r.entropy_unit_sem),
            f64s(rows, |r| r.wd_eff_sem),
            f64s(rows, |r| r.wd_eff_linear),
            f64s(rows, |r| r.trace_sigma_sem),
            f64s(rows, |r| r.full_grad_sq_sem),
            f64s(rows, |r| r.test_loss),
            f64s(rows, |r| r.test_accuracy),
            opt_u32s(rows, |r| r.adiabat),
        ];
        RecordBatch::try_new(Self::schema(), columns)
    }

    fn from_batch(
        batch: &RecordBatch,
        file: &Path,
        first_row: u64,
    ) -> Result<Vec<Self>, ResultsError> {
        let c = BatchColumns::new(batch, file, first_row);
        let (u32t, u64t) = (DataType::UInt32, DataType::UInt64);
        let mut sweep = c.strings("sweep")?;
        let point: Vec<u32> = c.uints("point", u32t.clone())?;
        let replica: Vec<u32> = c.uints("replica", u32t.clone())?;
        let seed: Vec<u64> = c.uints("seed", u64t.clone())?;
        let mut workload = c.strings("workload")?;
        let mut protocol = c.strings("protocol")?;
        let dim: Vec<u64> = c.uints("dim", u64t.clone())?;
        let [lr, elr, wd, radius] = ["lr", "elr", "wd", "radius"].map(|n| c.floats(n));
        let (lr, elr, wd, radius) = (lr?, elr?, wd?, radius?);
        let iterations: Vec<u64> = c.uints("iterations", u64t)?;
        let loss_mean = c.floats("loss_mean")?;
        let radius_mean = c.floats("radius_mean")?;
        let entropy_unit = c.floats("entropy_unit")?;
        let entropy = c.floats("entropy")?;
        let sigma2 = c.floats("sigma2")?;
        let trace_sigma = c.floats("trace_sigma")?;
        let full_grad_sq = c.floats("full_grad_sq")?;
        let temperature = c.floats("temperature")?;
        let pressure = c.floats("pressure")?;
        let volume = c.floats("volume")?;
        let wd_eff = c.floats("wd_eff")?;
        let status = c.statuses("status")?;
        let mut error = c.opt_strings("error")?;
        let mut backend = c.strings("backend")?;
        let mut agent = c.strings("agent")?;
        let attempt: Vec<u32> = c.uints("attempt", u32t)?;
        let wall_seconds = c.float_values("wall_seconds")?;
        let loss_sem = c.ext_floats("loss_sem")?;
        let radius_sem = c.ext_floats("radius_sem")?;
        let entropy_unit_sem = c.ext_floats("entropy_unit_sem")?;
        let wd_eff_sem = c.ext_floats("wd_eff_sem")?;
        let wd_eff_linear = c.ext_floats("wd_eff_linear")?;
        let trace_sigma_sem = c.ext_floats("trace_sigma_sem")?;
        let full_grad_sq_sem = c.ext_floats("full_grad_sq_sem")?;
        let test_loss = c.ext_floats("test_loss")?;
        let test_accuracy = c.ext_floats("test_accuracy")?;
        let adiabat = c.ext_u32s("adiabat")?;

        let take = std::mem::take::<String>;
        Ok((0..batch.num_rows())
            .map(|i| ResultRow {
                sweep: take(&mut sweep[i]),
                point: point[i],
                replica: replica[i],
                seed: seed[i],
                workload: take(&mut workload[i]),
                protocol: take(&mut protocol[i]),
                dim: dim[i],
                lr: lr[i],
                elr: elr[i],
                wd: wd[i],
                radius: radius[i],
                iterations: iterations[i],
                loss_mean: loss_mean[i],
                radius_mean: radius_mean[i],
                entropy_unit: entropy_unit[i],
                entropy: entropy[i],
                sigma2: sigma2[i],
                trace_sigma: trace_sigma[i],
                full_grad_sq: full_grad_sq[i],
                temperature: temperature[i],
                pressure: pressure[i],
                volume: volume[i],
                wd_eff: wd_eff[i],
                status: status[i],
                error: error[i].take(),
                backend: take(&mut backend[i]),
                agent: take(&mut agent[i]),
                attempt: attempt[i],
                wall_seconds: wall_seconds[i],
                loss_sem: loss_sem[i],
                radius_sem: radius_sem[i],
                entropy_unit_sem: entropy_unit_sem[i],
                wd_eff_sem: wd_eff_sem[i],
                wd_eff_linear: wd_eff_linear[i],
                trace_sigma_sem: trace_sigma_sem[i],
                full_grad_sq_sem: full_grad_sq_sem[i],
                test_loss: test_loss[i],
                test_accuracy: test_accuracy[i],
                adiabat: adiabat[i],
            })
            .collect())
    }
}

impl ParquetRow for SeriesRow {
    fn schema() -> SchemaRef {
        series_schema()
    }

    fn to_batch(rows: &[Self]) -> Result<RecordBatch, ArrowError> {
        let columns = vec![
            strings(rows, |r| &r.sweep),
            u32s(rows, |r| r.point),
            u32s(rows, |r| r.replica),
            u64s(rows, |r| r.iteration),
            f64s(rows, |r| r.loss),
            f64s(rows, |r| r.radius),
            f64s(rows, |r| r.entropy_unit),
            f64s(rows, |r| r.entropy),
            f64s(rows, |r| r.trace_sigma),
            f64s(rows, |r| r.full_grad_sq),
        ];
        RecordBatch::try_new(Self::schema(), columns)
    }

    fn from_batch(
        batch: &RecordBatch,
        file: &Path,
        first_row: u64,
    ) -> Result<Vec<Self>, ResultsError> {
        let c = BatchColumns::new(batch, file, first_row);
        let mut sweep = c.strings("sweep")?;
        let point: Vec<u32> = c.uints("point", DataType::UInt32)?;
        let replica: Vec<u32> = c.uints("replica", DataType::UInt32)?;
        let iteration: Vec<u64> = c.uints("iteration", DataType::UInt64)?;
        let loss = c.floats("loss")?;
        let radius = c.floats("radius")?;
        let entropy_unit = c.floats("entropy_unit")?;
        let entropy = c.floats("entropy")?;
        let trace_sigma = c.floats("trace_sigma")?;
        let full_grad_sq = c.floats("full_grad_sq")?;
        Ok((0..batch.num_rows())
            .map(|i| SeriesRow {
                sweep: std::mem::take(&mut sweep[i]),
                point: point[i],
                replica: replica[i],
                iteration: iteration[i],
                loss: loss[i],
                radius: radius[i],
                entropy_unit: entropy_unit[i],
                entropy: entropy[i],
                trace_sigma: trace_sigma[i],
                full_grad_sq: full_grad_sq[i],
            })
            .collect())
    }
}
