//! Typed access to the columns of a record batch read from a file, for the reader. It is strict
//! about the contract (a required column must be there, a non-null column may hold no null) and
//! lenient about encodings that other tools write for the same values: large and view strings,
//! dictionary-encoded strings, any integer type whose values fit, `Float32`, and the `Null` type
//! that pyarrow gives an all-null column.

use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int8Type, Int16Type, Int32Type, Int64Type, UInt8Type, UInt16Type,
    UInt32Type, UInt64Type,
};
use arrow_array::{Array, ArrayRef, RecordBatch};
use arrow_schema::DataType;

use super::error::ResultsError;
use super::rows::Status;

/// The columns of one batch, with what is needed to name a bad value.
pub(crate) struct BatchColumns<'a> {
    batch: &'a RecordBatch,
    file: &'a Path,
    first_row: u64,
}

impl<'a> BatchColumns<'a> {
    /// `first_row` is the file's row index of the batch's first row.
    pub(crate) fn new(batch: &'a RecordBatch, file: &'a Path, first_row: u64) -> Self {
        Self {
            batch,
            file,
            first_row,
        }
    }

    fn require(&self, name: &str) -> Result<&'a ArrayRef, ResultsError> {
        self.batch
            .column_by_name(name)
            .ok_or_else(|| ResultsError::MissingColumn {
                file: self.file.to_path_buf(),
                column: name.to_owned(),
            })
    }

    fn wrong_type(&self, name: &str, expected: DataType, found: &DataType) -> ResultsError {
        ResultsError::WrongType {
            file: self.file.to_path_buf(),
            column: name.to_owned(),
            expected: expected.to_string(),
            found: found.to_string(),
        }
    }

    fn bad_value(&self, name: &str, index: usize, problem: impl Into<String>) -> ResultsError {
        ResultsError::BadValue {
            file: self.file.to_path_buf(),
            column: name.to_owned(),
            row: self.first_row + index as u64,
            problem: problem.into(),
        }
    }

    fn non_null<T>(&self, name: &str, values: Vec<Option<T>>) -> Result<Vec<T>, ResultsError> {
        values
            .into_iter()
            .enumerate()
            .map(|(i, v)| v.ok_or_else(|| self.bad_value(name, i, "null in a non-null column")))
            .collect()
    }

    /// A required string column that may hold nulls.
    pub(crate) fn opt_strings(&self, name: &str) -> Result<Vec<Option<String>>, ResultsError> {
        let array = self.require(name)?;
        string_values(array.as_ref())
            .ok_or_else(|| self.wrong_type(name, DataType::Utf8, array.data_type()))
    }

    /// A required string column without nulls.
    pub(crate) fn strings(&self, name: &str) -> Result<Vec<String>, ResultsError> {
        let array = self.require(name)?;
        if array.data_type() == &DataType::Null {
            return Err(self.wrong_type(name, DataType::Utf8, array.data_type()));
        }
        let values = self.opt_strings(name)?;
        self.non_null(name, values)
    }

    /// The `status` column.
    pub(crate) fn statuses(&self, name: &str) -> Result<Vec<Status>, ResultsError> {
        let values = self.strings(name)?;
        values
            .iter()
            .enumerate()
            .map(|(i, s)| {
                s.parse()
                    .map_err(|e| self.bad_value(name, i, format!("{e}")))
            })
            .collect()
    }

    /// A required unsigned column without nulls; `expected` is the contract's type.
    pub(crate) fn uints<T: TryFrom<i128>>(
        &self,
        name: &str,
        expected: DataType,
    ) -> Result<Vec<T>, ResultsError> {
        let array = self.require(name)?;
        let values = int_values(array.as_ref())
            .ok_or_else(|| self.wrong_type(name, expected.clone(), array.data_type()))?;
        let values = self.non_null(name, values)?;
        values
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                T::try_from(v).map_err(|_| {
                    self.bad_value(name, i, format!("{v} is out of range for {expected}"))
                })
            })
            .collect()
    }

    /// A required float column that may hold nulls.
    pub(crate) fn floats(&self, name: &str) -> Result<Vec<Option<f64>>, ResultsError> {
        let array = self.require(name)?;
        float_values(array.as_ref())
            .ok_or_else(|| self.wrong_type(name, DataType::Float64, array.data_type()))
    }

    /// An optional unsigned column that may hold nulls: all null when the file does not have it.
    pub(crate) fn ext_u32s(&self, name: &str) -> Result<Vec<Option<u32>>, ResultsError> {
        let Some(array) = self.batch.column_by_name(name) else {
            return Ok(vec![None; self.batch.num_rows()]);
        };
        if array.data_type() == &DataType::Null {
            return Ok(vec![None; self.batch.num_rows()]);
        }
        let values = int_values(array.as_ref())
            .ok_or_else(|| self.wrong_type(name, DataType::UInt32, array.data_type()))?;
        values
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                v.map(|v| {
                    u32::try_from(v).map_err(|_| {
                        self.bad_value(name, i, format!("{v} is out of range for UInt32"))
                    })
                })
                .transpose()
            })
            .collect()
    }

    /// An optional float column: all null when the file does not have it.
    pub(crate) fn ext_floats(&self, name: &str) -> Result<Vec<Option<f64>>, ResultsError> {
        match self.batch.column_by_name(name) {
            Some(_) => self.floats(name),
            None => Ok(vec![None; self.batch.num_rows()]),
        }
    }

    /// A required float column without nulls.
    pub(crate) fn float_values(&self, name: &str) -> Result<Vec<f64>, ResultsError> {
        let array = self.require(name)?;
        if array.data_type() == &DataType::Null {
            return Err(self.wrong_type(name, DataType::Float64, array.data_type()));
        }
        let values = self.floats(name)?;
        self.non_null(name, values)
    }
}

fn string_values(array: &dyn Array) -> Option<Vec<Option<String>>> {
    let owned = |v: Option<&str>| v.map(str::to_owned);
    match array.data_type() {
        DataType::Utf8 => Some(array.as_string_opt::<i32>()?.iter().map(owned).collect()),
        DataType::LargeUtf8 => Some(array.as_string_opt::<i64>()?.iter().map(owned).collect()),
        DataType::Utf8View => Some(array.as_string_view_opt()?.iter().map(owned).collect()),
        DataType::Null => Some(vec![None; array.len()]),
        DataType::Dictionary(_, _) => {
            // Not `normalized_keys`: it panics on an empty dictionary and clamps bad keys.
            let dictionary = array.as_any_dictionary_opt()?;
            let values = string_values(dictionary.values().as_ref())?;
            let keys = int_values(dictionary.keys())?;
            let lookup = |(i, key): (usize, Option<i128>)| match key {
                Some(key) if !array.is_null(i) => values.get(usize::try_from(key).ok()?).cloned(),
                _ => Some(None),
            };
            keys.into_iter().enumerate().map(lookup).collect()
        }
        _ => None,
    }
}

fn int_values(array: &dyn Array) -> Option<Vec<Option<i128>>> {
    macro_rules! widen {
        ($t:ty) => {
            array
                .as_primitive_opt::<$t>()
                .map(|a| a.iter().map(|v| v.map(i128::from)).collect())
        };
    }
    match array.data_type() {
        DataType::Int8 => widen!(Int8Type),
        DataType::Int16 => widen!(Int16Type),
        DataType::Int32 => widen!(Int32Type),
        DataType::Int64 => widen!(Int64Type),
        DataType::UInt8 => widen!(UInt8Type),
        DataType::UInt16 => widen!(UInt16Type),
        DataType::UInt32 => widen!(UInt32Type),
        DataType::UInt64 => widen!(UInt64Type),
        _ => None,
    }
}

fn float_values(array: &dyn Array) -> Option<Vec<Option<f64>>> {
    match array.data_type() {
        DataType::Float64 => Some(array.as_primitive_opt::<Float64Type>()?.iter().collect()),
        DataType::Float32 => Some(
            array
                .as_primitive_opt::<Float32Type>()?
                .iter()
                .map(|v| v.map(f64::from))
                .collect(),
        ),
        DataType::Null => Some(vec![None; array.len()]),
        _ => None,
    }
}
