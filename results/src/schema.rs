//! The column lists of `results.parquet` and `series.parquet` (DESIGN §5) in one table each, so
//! the Arrow schemas, the writer and the reader's checks cannot disagree about names, order,
//! types or nullability.

use std::sync::Arc;

use arrow_schema::{DataType, Field, Schema, SchemaRef};

/// The logical type of a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ColumnType {
    /// Arrow `Utf8`.
    Utf8,
    /// Arrow `UInt32`.
    U32,
    /// Arrow `UInt64`.
    U64,
    /// Arrow `Float64`.
    F64,
}

impl ColumnType {
    /// The Arrow type written for this column.
    pub fn data_type(self) -> DataType {
        match self {
            Self::Utf8 => DataType::Utf8,
            Self::U32 => DataType::UInt32,
            Self::U64 => DataType::UInt64,
            Self::F64 => DataType::Float64,
        }
    }
}

/// One column of a result file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Column {
    /// Column name.
    pub name: &'static str,
    /// Logical type.
    pub ty: ColumnType,
    /// Whether it may hold nulls.
    pub nullable: bool,
    /// Whether a file must have it: DESIGN §5 columns are required, our extensions are not.
    pub required: bool,
}

const fn col(name: &'static str, ty: ColumnType, nullable: bool) -> Column {
    Column {
        name,
        ty,
        nullable,
        required: true,
    }
}

const fn ext(name: &'static str) -> Column {
    Column {
        name,
        ty: ColumnType::F64,
        nullable: true,
        required: false,
    }
}

use ColumnType::{F64, U32, U64, Utf8};

/// The columns of `results.parquet`, in order: DESIGN §5, then the extension columns.
pub const RESULT_COLUMNS: &[Column] = &[
    col("sweep", Utf8, false),
    col("point", U32, false),
    col("replica", U32, false),
    col("seed", U64, false),
    col("workload", Utf8, false),
    col("protocol", Utf8, false),
    col("dim", U64, false),
    col("lr", F64, true),
    col("elr", F64, true),
    col("wd", F64, true),
    col("radius", F64, true),
    col("iterations", U64, false),
    col("loss_mean", F64, true),
    col("radius_mean", F64, true),
    col("entropy_unit", F64, true),
    col("entropy", F64, true),
    col("sigma2", F64, true),
    col("trace_sigma", F64, true),
    col("full_grad_sq", F64, true),
    col("temperature", F64, true),
    col("pressure", F64, true),
    col("volume", F64, true),
    col("wd_eff", F64, true),
    col("status", Utf8, false),
    col("error", Utf8, true),
    col("backend", Utf8, false),
    col("agent", Utf8, false),
    col("attempt", U32, false),
    col("wall_seconds", F64, false),
    ext("loss_sem"),
    ext("radius_sem"),
    ext("entropy_unit_sem"),
    ext("wd_eff_sem"),
    ext("wd_eff_linear"),
    ext("trace_sigma_sem"),
    ext("full_grad_sq_sem"),
    ext("test_loss"),
    ext("test_accuracy"),
    Column {
        name: "adiabat",
        ty: U32,
        nullable: true,
        required: false,
    },
];

/// The columns of `series.parquet`, in order (DESIGN §5).
pub const SERIES_COLUMNS: &[Column] = &[
    col("sweep", Utf8, false),
    col("point", U32, false),
    col("replica", U32, false),
    col("iteration", U64, false),
    col("loss", F64, true),
    col("radius", F64, true),
    col("entropy_unit", F64, true),
    col("entropy", F64, true),
    col("trace_sigma", F64, true),
    col("full_grad_sq", F64, true),
];

fn schema_of(columns: &[Column]) -> SchemaRef {
    let fields: Vec<Field> = columns
        .iter()
        .map(|c| Field::new(c.name, c.ty.data_type(), c.nullable))
        .collect();
    Arc::new(Schema::new(fields))
}

/// The Arrow schema of `results.parquet` as this crate writes it.
pub fn results_schema() -> SchemaRef {
    schema_of(RESULT_COLUMNS)
}

/// The Arrow schema of `series.parquet` as this crate writes it.
pub fn series_schema() -> SchemaRef {
    schema_of(SERIES_COLUMNS)
}
