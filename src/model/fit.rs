//! Whether a checkpoint can be placed on a device, decided from its header alone, before any
//! tensor is read or allocated: no tensor may exceed what one storage binding holds (its values
//! become f32 on the device), and where memory is bounded (a browser tab's WebAssembly memory)
//! the file and its values as f32 must fit in it together. And whether a run's attention scores
//! fit one binding, before the run starts.

use serde_json::Value;

use super::ModelError;

/// Most bytes a safetensors header may have (the format's own bound is 100 MB).
const MAX_HEADER: u64 = 100_000_000;

/// One tensor of a checkpoint, as its header declares it.
#[derive(Clone, Debug, PartialEq)]
pub struct TensorSize {
    pub name: String,
    /// The product of its shape.
    pub values: u64,
}

/// Every tensor the header of a safetensors file declares, largest first (ties by name).
pub fn tensor_sizes(bytes: &[u8]) -> Result<Vec<TensorSize>, ModelError> {
    let bad = |m: &str| ModelError::Checkpoint(format!("not a readable safetensors file: {m}"));
    let len = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().expect("eight bytes")))
        .ok_or_else(|| bad("shorter than its header's length"))?;
    if len > MAX_HEADER || len > bytes.len() as u64 - 8 {
        return Err(bad("its header is longer than the file or than 100 MB"));
    }
    let header: Value = serde_json::from_slice(&bytes[8..8 + len as usize])
        .map_err(|e| bad(&format!("its header is not JSON ({e})")))?;
    let Value::Object(entries) = header else {
        return Err(bad("its header is not a JSON object"));
    };
    let mut sizes = Vec::with_capacity(entries.len());
    for (name, info) in entries.iter().filter(|(k, _)| *k != "__metadata__") {
        let shape = info
            .get("shape")
            .and_then(Value::as_array)
            .ok_or_else(|| bad(&format!("tensor {name:?} has no shape")))?;
        let values = shape
            .iter()
            .try_fold(1u64, |n, d| n.checked_mul(d.as_u64()?));
        let values =
            values.ok_or_else(|| bad(&format!("tensor {name:?} has an unreadable shape")))?;
        sizes.push(TensorSize {
            name: name.clone(),
            values,
        });
    }
    sizes.sort_by(|a, b| b.values.cmp(&a.values).then(a.name.cmp(&b.name)));
    Ok(sizes)
}

/// What a device offers a checkpoint.
#[derive(Clone, Copy, Debug)]
pub struct Room {
    /// The most f32 values one storage binding holds.
    pub binding_values: u64,
    /// The memory the file and its f32 values share (None: not bounded here).
    pub memory_bytes: Option<u64>,
}

fn mib(bytes: u64) -> u64 {
    bytes >> 20
}

/// Checks that the checkpoint in `bytes` fits `room`; returns its number of values.
pub fn check_fits(bytes: &[u8], room: Room) -> Result<u64, ModelError> {
    let sizes = tensor_sizes(bytes)?;
    let too_big = |m: String| ModelError::Checkpoint(format!("{m}: it cannot be loaded here"));
    if let Some(largest) = sizes.first()
        && largest.values > room.binding_values
    {
        return Err(too_big(format!(
            "tensor {:?} holds {} values ({} MiB as f32), more than the {} MiB this GPU binds \
             at once",
            largest.name,
            largest.values,
            mib(largest.values.saturating_mul(4)),
            mib(room.binding_values.saturating_mul(4))
        )));
    }
    let total = sizes.iter().fold(0u64, |n, t| n.saturating_add(t.values));
    if let Some(memory) = room.memory_bytes {
        let needed = (bytes.len() as u64).saturating_add(total.saturating_mul(4));
        if needed > memory {
            return Err(too_big(format!(
                "its {total} values need about {} MiB while loading (the file and the values as \
                 f32), more than the {} MiB this page can use",
                mib(needed),
                mib(memory)
            )));
        }
    }
    Ok(total)
}

/// Checks that one attention layer's scores for a batch fit one storage binding: `batch`
/// pictures of `tokens` tokens and `heads` heads give batch x heads x tokens^2 f32 scores, which
/// the forward pass and its backward hold in one tensor. Refused before any run allocates them.
pub fn check_attention(
    heads: usize,
    batch: usize,
    tokens: usize,
    binding_values: u64,
) -> Result<(), ModelError> {
    let scores = [batch, heads, tokens, tokens]
        .iter()
        .fold(1u64, |n, &k| n.saturating_mul(k as u64));
    if scores > binding_values {
        return Err(ModelError::Input(format!(
            "a batch of {batch} pictures of {tokens} tokens gives {scores} attention scores per \
             block ({} MiB as f32), more than the {} MiB this GPU binds at once: lower the batch \
             or the image side",
            mib(scores.saturating_mul(4)),
            mib(binding_values.saturating_mul(4))
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file whose header declares `tensors` (name, shape) and holds `body` bytes of data.
    fn declared(tensors: &[(&str, &[u64])], body: usize) -> Vec<u8> {
        let mut header = serde_json::Map::new();
        let mut offset = 0u64;
        for (name, shape) in tensors {
            let n = shape.iter().fold(4u64, |a, b| a.wrapping_mul(*b));
            header.insert(
                name.to_string(),
                serde_json::json!({"dtype": "F32", "shape": shape, "data_offsets": [offset, offset.wrapping_add(n)]}),
            );
            offset = offset.wrapping_add(n);
        }
        let text = Value::Object(header).to_string();
        let mut bytes = (text.len() as u64).to_le_bytes().to_vec();
        bytes.extend_from_slice(text.as_bytes());
        bytes.extend(std::iter::repeat_n(0u8, body));
        bytes
    }

    const ROOMY: Room = Room {
        binding_values: 1 << 28,
        memory_bytes: Some(3 << 30),
    };

    #[test]
    fn a_model_that_fits_gives_its_number_of_values() {
        let bytes = declared(&[("a", &[4, 8]), ("b", &[8])], 160);
        assert_eq!(check_fits(&bytes, ROOMY).unwrap(), 40);
        let sizes = tensor_sizes(&bytes).unwrap();
        assert_eq!(
            sizes[0],
            TensorSize {
                name: "a".into(),
                values: 32
            }
        );
    }

    #[test]
    fn a_tensor_beyond_one_binding_is_refused_by_name_from_the_header_alone() {
        // 300 million values declared, no data at all: nothing is read or allocated.
        let bytes = declared(&[("huge.weight", &[300_000, 1000]), ("b", &[8])], 0);
        let err = check_fits(&bytes, ROOMY).unwrap_err().to_string();
        assert!(
            err.contains("\"huge.weight\" holds 300000000 values (1144 MiB as f32)"),
            "{err}"
        );
        assert!(
            err.contains("more than the 1024 MiB this GPU binds at once"),
            "{err}"
        );
    }

    #[test]
    fn a_model_beyond_the_page_memory_is_refused_with_both_figures() {
        let room = Room {
            binding_values: 1 << 28,
            memory_bytes: Some(1 << 20),
        };
        let bytes = declared(&[("a", &[512, 512])], 0);
        let err = check_fits(&bytes, room).unwrap_err().to_string();
        assert!(
            err.contains("need about 1 MiB") && err.contains("than the 1 MiB"),
            "{err}"
        );
        let unbounded = Room {
            memory_bytes: None,
            ..room
        };
        assert!(check_fits(&bytes, unbounded).is_ok());
    }

    #[test]
    fn attention_scores_beyond_one_binding_are_refused_with_what_to_lower() {
        // ViT-B at 224 px with 16 prompts: 213 tokens, 12 heads, batch 8 is 4.4 M scores.
        assert!(check_attention(12, 8, 213, 1 << 25).is_ok());
        let err = check_attention(3, 1, 10_005, 1 << 28)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("a batch of 1 pictures of 10005 tokens gives 300300075"),
            "{err}"
        );
        assert!(
            err.contains("(1145 MiB as f32), more than the 1024 MiB"),
            "{err}"
        );
        assert!(err.contains("lower the batch or the image side"), "{err}");
        assert!(check_attention(usize::MAX, usize::MAX, usize::MAX, u64::MAX - 1).is_err());
    }

    #[test]
    fn hostile_headers_are_errors_not_panics() {
        for bytes in [
            Vec::new(),
            vec![0xff; 8],
            declared(&[("a", &[u64::MAX, 2])], 0),
            b"\x02\0\0\0\0\0\0\0[]".to_vec(),
        ] {
            assert!(check_fits(&bytes, ROOMY).is_err(), "{bytes:?}");
        }
    }
}
