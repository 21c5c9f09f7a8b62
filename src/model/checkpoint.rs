//! Reading a safetensors checkpoint from bytes (no file system, so it works in the browser) into
//! f32 host tensors, and handing them out by name while keeping track of what was used.
//!
//! The `safetensors` crate validates the header (its length against the buffer, every tensor's
//! offsets against the data), so a truncated or malformed file is an error, not a panic or an
//! allocation sized by a corrupt length. F32, F16 and BF16 tensors are accepted.

use std::collections::{BTreeMap, BTreeSet};

use std::borrow::Cow;

use safetensors::tensor::View;
use safetensors::{Dtype, SafeTensors};

use super::ModelError;

/// A host tensor in f32, row-major.
#[derive(Clone, Debug, PartialEq)]
pub struct HostTensor {
    pub shape: Vec<usize>,
    pub data: Vec<f32>,
}

impl HostTensor {
    pub fn new(shape: Vec<usize>, data: Vec<f32>) -> Self {
        debug_assert_eq!(shape.iter().product::<usize>(), data.len());
        Self { shape, data }
    }

    /// Reads a tensor back from its device (without blocking the browser).
    pub async fn read<const D: usize>(tensor: burn::tensor::Tensor<D>) -> Result<Self, ModelError> {
        let shape = tensor.dims().to_vec();
        let data = tensor
            .into_data_async()
            .await
            .map_err(|e| ModelError::Readback(format!("{e:?}")))?
            .try_into_vec::<f32>()
            .map_err(|e| ModelError::Readback(format!("{e:?}")))?;
        Ok(Self::new(shape, data))
    }

    /// Largest absolute difference to `other`, which must have the same shape.
    pub fn max_abs_diff(&self, other: &HostTensor) -> f32 {
        assert_eq!(
            self.shape, other.shape,
            "comparing tensors of different shapes"
        );
        self.data
            .iter()
            .zip(&other.data)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0, f32::max)
    }

    /// The [rows, cols] matrix transposed.
    pub fn transposed(&self) -> HostTensor {
        let [rows, cols] = self.shape[..] else {
            panic!("transposing a tensor of shape {:?}", self.shape)
        };
        let mut data = vec![0.0; rows * cols];
        for r in 0..rows {
            for c in 0..cols {
                data[c * rows + r] = self.data[r * cols + c];
            }
        }
        HostTensor::new(vec![cols, rows], data)
    }
}

impl View for &HostTensor {
    fn dtype(&self) -> Dtype {
        Dtype::F32
    }

    fn shape(&self) -> &[usize] {
        &self.shape
    }

    fn data(&self) -> Cow<'_, [u8]> {
        Cow::Owned(self.data.iter().flat_map(|v| v.to_le_bytes()).collect())
    }

    fn data_len(&self) -> usize {
        self.data.len() * 4
    }
}

/// Writes f32 tensors as a safetensors file (bytes).
pub fn to_safetensors(tensors: &BTreeMap<String, HostTensor>) -> Result<Vec<u8>, ModelError> {
    to_safetensors_with_metadata(tensors, BTreeMap::new())
}

/// Writes f32 tensors and string metadata (the header's `__metadata__`).
pub fn to_safetensors_with_metadata(
    tensors: &BTreeMap<String, HostTensor>,
    metadata: BTreeMap<String, String>,
) -> Result<Vec<u8>, ModelError> {
    let metadata = (!metadata.is_empty()).then(|| metadata.into_iter().collect());
    safetensors::serialize(tensors.iter(), metadata)
        .map_err(|e| ModelError::Checkpoint(format!("writing safetensors: {e}")))
}

/// The header's `__metadata__` strings (empty when there are none).
pub fn read_metadata(bytes: &[u8]) -> Result<BTreeMap<String, String>, ModelError> {
    let (_, header) = SafeTensors::read_metadata(bytes)
        .map_err(|e| ModelError::Checkpoint(format!("not a readable safetensors file: {e}")))?;
    Ok(header
        .metadata()
        .clone()
        .map(|m| m.into_iter().collect())
        .unwrap_or_default())
}

/// The tensors of one checkpoint, by name, with the names not yet taken.
pub struct Checkpoint {
    tensors: BTreeMap<String, HostTensor>,
    taken: BTreeSet<String>,
}

impl Checkpoint {
    pub fn from_safetensors(bytes: &[u8]) -> Result<Self, ModelError> {
        let file = SafeTensors::deserialize(bytes)
            .map_err(|e| ModelError::Checkpoint(format!("not a readable safetensors file: {e}")))?;
        let mut tensors = BTreeMap::new();
        for (name, view) in file.tensors() {
            let raw = view.data();
            let data: Vec<f32> = match view.dtype() {
                Dtype::F32 => raw
                    .chunks_exact(4)
                    .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
                    .collect(),
                Dtype::F16 => raw
                    .chunks_exact(2)
                    .map(|b| half::f16::from_le_bytes([b[0], b[1]]).to_f32())
                    .collect(),
                Dtype::BF16 => raw
                    .chunks_exact(2)
                    .map(|b| half::bf16::from_le_bytes([b[0], b[1]]).to_f32())
                    .collect(),
                other => {
                    return Err(ModelError::Checkpoint(format!(
                        "tensor {name:?} has dtype {other:?}; only F32, F16 and BF16 are supported"
                    )));
                }
            };
            tensors.insert(name, HostTensor::new(view.shape().to_vec(), data));
        }
        Ok(Self::from_tensors(tensors))
    }

    pub fn from_tensors(tensors: BTreeMap<String, HostTensor>) -> Self {
        Self {
            tensors,
            taken: BTreeSet::new(),
        }
    }

    pub fn contains(&self, name: &str) -> bool {
        self.tensors.contains_key(name)
    }

    /// Looks at a tensor without taking it.
    pub fn get(&self, name: &str) -> Option<&HostTensor> {
        self.tensors.get(name)
    }

    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.tensors.keys().map(String::as_str)
    }

    /// Takes `name`, checking its shape.
    pub fn take(&mut self, name: &str, shape: &[usize]) -> Result<HostTensor, ModelError> {
        let tensor = self
            .tensors
            .get(name)
            .ok_or_else(|| ModelError::Missing(vec![name.to_string()]))?;
        if tensor.shape != shape {
            return Err(ModelError::Shape {
                name: name.to_string(),
                expected: shape.to_vec(),
                found: tensor.shape.clone(),
            });
        }
        if let Some(i) = tensor.data.iter().position(|v| !v.is_finite()) {
            return Err(ModelError::Checkpoint(format!(
                "tensor {name:?} holds {} at index {i}: the weights are damaged",
                tensor.data[i]
            )));
        }
        self.taken.insert(name.to_string());
        Ok(tensor.clone())
    }

    /// Marks names that are known and deliberately unused (a DINOv2 `mask_token`, say).
    pub fn ignore(&mut self, name: &str) {
        if self.tensors.contains_key(name) {
            self.taken.insert(name.to_string());
        }
    }

    /// The names that were never taken nor ignored.
    pub fn untaken(&self) -> Vec<String> {
        self.tensors
            .keys()
            .filter(|k| !self.taken.contains(*k))
            .cloned()
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A safetensors file written by hand: 8-byte header length, JSON header, data.
    fn file(header: &str, data: &[u8]) -> Vec<u8> {
        let mut out = (header.len() as u64).to_le_bytes().to_vec();
        out.extend_from_slice(header.as_bytes());
        out.extend_from_slice(data);
        out
    }

    #[test]
    fn reads_f32_f16_and_bf16() {
        let mut data = Vec::new();
        data.extend_from_slice(&1.5f32.to_le_bytes());
        data.extend_from_slice(&half::f16::from_f32(-2.0).to_le_bytes());
        data.extend_from_slice(&half::bf16::from_f32(0.25).to_le_bytes());
        let header = r#"{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4]},"b":{"dtype":"F16","shape":[1],"data_offsets":[4,6]},"c":{"dtype":"BF16","shape":[1,1],"data_offsets":[6,8]}}"#;
        let mut ck = Checkpoint::from_safetensors(&file(header, &data)).unwrap();
        assert_eq!(ck.take("a", &[1]).unwrap().data, vec![1.5]);
        assert_eq!(ck.take("b", &[1]).unwrap().data, vec![-2.0]);
        assert_eq!(ck.take("c", &[1, 1]).unwrap().data, vec![0.25]);
        assert!(ck.untaken().is_empty());
    }

    #[test]
    fn truncated_and_malformed_files_are_errors() {
        let header = r#"{"a":{"dtype":"F32","shape":[4],"data_offsets":[0,16]}}"#;
        let whole = file(header, &[0u8; 16]);
        for cut in [0, 4, 8, 20, whole.len() - 1] {
            assert!(
                Checkpoint::from_safetensors(&whole[..cut]).is_err(),
                "cut at {cut}"
            );
        }
        // A header length far beyond the buffer must not be trusted.
        let mut huge = u64::MAX.to_le_bytes().to_vec();
        huge.extend_from_slice(b"{}");
        assert!(Checkpoint::from_safetensors(&huge).is_err());
        assert!(Checkpoint::from_safetensors(&file("{not json", &[])).is_err());
    }

    #[test]
    fn unsupported_dtypes_and_wrong_shapes_name_the_tensor() {
        let header = r#"{"ids":{"dtype":"I64","shape":[1],"data_offsets":[0,8]}}"#;
        let err = Checkpoint::from_safetensors(&file(header, &[0u8; 8]))
            .err()
            .unwrap();
        assert!(err.to_string().contains("\"ids\""), "{err}");

        let header = r#"{"w":{"dtype":"F32","shape":[2],"data_offsets":[0,8]}}"#;
        let mut ck = Checkpoint::from_safetensors(&file(header, &[0u8; 8])).unwrap();
        let err = ck.take("w", &[3]).err().unwrap();
        assert!(
            err.to_string().contains("w") && err.to_string().contains("[3]"),
            "{err}"
        );
        assert!(ck.take("nope", &[1]).is_err());
    }

    #[test]
    fn written_files_read_back() {
        let mut tensors = BTreeMap::new();
        tensors.insert(
            "t".to_string(),
            HostTensor::new(vec![2, 1], vec![0.5, -3.0]),
        );
        let bytes = to_safetensors(&tensors).unwrap();
        let ck = Checkpoint::from_safetensors(&bytes).unwrap();
        assert_eq!(ck.get("t"), tensors.get("t"));
    }

    #[test]
    fn transposing_swaps_rows_and_columns() {
        let t = HostTensor::new(vec![2, 3], vec![1., 2., 3., 4., 5., 6.]);
        assert_eq!(
            t.transposed(),
            HostTensor::new(vec![3, 2], vec![1., 4., 2., 5., 3., 6.])
        );
    }
}
