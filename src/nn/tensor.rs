//! Named tensors: how a model's parameters and buffers leave it and come back.
//!
//! Names and shapes follow PyTorch's `state_dict` of the module `export-torch` generates, so a
//! file of these tensors loads into either engine unchanged.

/// The values of one tensor, row-major.
#[derive(Clone, Debug, PartialEq)]
pub enum TensorData {
    F32(Vec<f32>),
    /// Counters such as batch norm's `num_batches_tracked` (an int64 in PyTorch).
    I64(Vec<i64>),
}

impl TensorData {
    pub fn len(&self) -> usize {
        match self {
            TensorData::F32(v) => v.len(),
            TensorData::I64(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The safetensors name of the element type.
    pub fn dtype(&self) -> &'static str {
        match self {
            TensorData::F32(_) => "F32",
            TensorData::I64(_) => "I64",
        }
    }
}

#[derive(Clone, Debug, PartialEq)]
pub struct Tensor {
    pub name: String,
    /// Empty for a scalar.
    pub shape: Vec<usize>,
    pub data: TensorData,
}

impl Tensor {
    pub fn f32(name: impl Into<String>, shape: Vec<usize>, values: Vec<f32>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), values.len());
        Self {
            name: name.into(),
            shape,
            data: TensorData::F32(values),
        }
    }

    pub fn i64(name: impl Into<String>, shape: Vec<usize>, values: Vec<i64>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), values.len());
        Self {
            name: name.into(),
            shape,
            data: TensorData::I64(values),
        }
    }

    pub fn as_f32(&self) -> Option<&[f32]> {
        match &self.data {
            TensorData::F32(v) => Some(v),
            TensorData::I64(_) => None,
        }
    }

    /// `[16, 3, 3, 3]`, for messages.
    pub fn shape_text(&self) -> String {
        shape_text(&self.shape)
    }
}

pub fn shape_text(shape: &[usize]) -> String {
    let parts: Vec<String> = shape.iter().map(|d| d.to_string()).collect();
    format!("[{}]", parts.join(", "))
}
