//! The safetensors format (what PyTorch, Hugging Face and JAX tools read), written and read here
//! without a dependency: 8 bytes of little-endian header length, a JSON header naming each
//! tensor's dtype, shape and byte range, then the raw little-endian data.
//!
//! Reading checks every size against the file before allocating anything, so a corrupt or
//! hostile file is refused with a sentence instead of a panic or a huge allocation.
use crate::nn::tensor::{Tensor, TensorData};
use std::collections::BTreeMap;

/// Larger headers are refused (ours are a few kB; the reference implementation caps at 100 MB).
pub const MAX_HEADER: usize = 100 << 20;

/// `tensors` in the given order, with string metadata under `__metadata__`.
pub fn encode(tensors: &[Tensor], metadata: &BTreeMap<String, String>) -> Vec<u8> {
    let mut header = String::from("{");
    if !metadata.is_empty() {
        header += "\"__metadata__\":";
        header += &serde_json::to_string(metadata).expect("string maps always serialise");
    }
    let mut offset = 0usize;
    for t in tensors {
        let bytes = t.data.len() * elem_size(&t.data);
        if header.len() > 1 {
            header.push(',');
        }
        header += &format!(
            "{}:{{\"dtype\":\"{}\",\"shape\":{:?},\"data_offsets\":[{},{}]}}",
            serde_json::to_string(&t.name).expect("strings always serialise"),
            t.data.dtype(),
            t.shape,
            offset,
            offset + bytes
        );
        offset += bytes;
    }
    header.push('}');
    // Pad with spaces so the data starts 8-byte aligned, as the reference writer does.
    while !header.len().is_multiple_of(8) {
        header.push(' ');
    }
    let mut out = Vec::with_capacity(8 + header.len() + offset);
    out.extend_from_slice(&(header.len() as u64).to_le_bytes());
    out.extend_from_slice(header.as_bytes());
    for t in tensors {
        match &t.data {
            TensorData::F32(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
            TensorData::I64(v) => v
                .iter()
                .for_each(|x| out.extend_from_slice(&x.to_le_bytes())),
        }
    }
    out
}

fn elem_size(d: &TensorData) -> usize {
    match d {
        TensorData::F32(_) => 4,
        TensorData::I64(_) => 8,
    }
}

/// What one file holds: its tensors in file order and its metadata.
#[derive(Clone, Debug, PartialEq, Default)]
pub struct Contents {
    pub tensors: Vec<Tensor>,
    pub metadata: BTreeMap<String, String>,
}

#[derive(serde::Deserialize)]
struct Entry {
    dtype: String,
    shape: Vec<u64>,
    data_offsets: [u64; 2],
}

/// Reads a safetensors file's bytes. F32 and I64 tensors load as they are; F64, F16 and BF16
/// become F32 and I32 becomes I64 (PyTorch state dicts saved in other precisions still load).
/// `what` names the file in errors.
pub fn decode(bytes: &[u8], what: &str) -> Result<Contents, String> {
    let bad = |why: String| format!("{what} is not a safetensors file: {why}");
    if bytes.len() < 8 {
        return Err(bad(format!("it is only {} bytes long", bytes.len())));
    }
    let n = u64::from_le_bytes(bytes[..8].try_into().expect("8 bytes"));
    if n > MAX_HEADER as u64 || n > (bytes.len() - 8) as u64 {
        return Err(bad(format!(
            "its header claims {n} bytes but the file has {} after the length",
            bytes.len() - 8
        )));
    }
    let header = std::str::from_utf8(&bytes[8..8 + n as usize])
        .map_err(|_| bad("its header is not UTF-8 text".into()))?;
    let map: serde_json::Map<String, serde_json::Value> =
        serde_json::from_str(header.trim_end())
            .map_err(|e| bad(format!("its header is not a JSON object ({e})")))?;
    let data = &bytes[8 + n as usize..];
    let mut metadata = BTreeMap::new();
    let mut entries = Vec::with_capacity(map.len());
    for (name, value) in map {
        if name == "__metadata__" {
            metadata = serde_json::from_value(value)
                .map_err(|_| bad("its __metadata__ is not a map of strings".into()))?;
            continue;
        }
        let e: Entry = serde_json::from_value(value)
            .map_err(|e| bad(format!("the entry for `{name}` is malformed ({e})")))?;
        entries.push((name, e));
    }
    entries.sort_by_key(|(_, e)| e.data_offsets[0]);
    let mut tensors = Vec::with_capacity(entries.len());
    let mut end_of_last = 0u64;
    for (name, e) in entries {
        let size: u64 = match e.dtype.as_str() {
            "F32" | "I32" => 4,
            "F64" | "I64" => 8,
            "F16" | "BF16" => 2,
            other => {
                return Err(format!(
                    "{what}: tensor `{name}` has type {other}; only F32, F64, F16, BF16, I64 and I32 can be read"
                ));
            }
        };
        let count = e
            .shape
            .iter()
            .try_fold(1u64, |a, &d| a.checked_mul(d))
            .ok_or_else(|| bad(format!("the shape of `{name}` overflows")))?;
        let [begin, end] = e.data_offsets;
        let wanted = count.checked_mul(size);
        if begin > end || end > data.len() as u64 || wanted != Some(end - begin) {
            return Err(bad(format!(
                "tensor `{name}` claims bytes {begin}..{end} for {count} {} values, but the data section has {} bytes",
                e.dtype,
                data.len()
            )));
        }
        if begin < end_of_last {
            return Err(bad(format!(
                "tensor `{name}` overlaps the tensor before it"
            )));
        }
        end_of_last = end;
        let raw = &data[begin as usize..end as usize];
        let shape: Vec<usize> = e.shape.iter().map(|&d| d as usize).collect();
        let values = match e.dtype.as_str() {
            "F32" => TensorData::F32(
                raw.chunks_exact(4)
                    .map(|b| f32::from_le_bytes(b.try_into().expect("4 bytes")))
                    .collect(),
            ),
            "F64" => TensorData::F32(
                raw.chunks_exact(8)
                    .map(|b| f64::from_le_bytes(b.try_into().expect("8 bytes")) as f32)
                    .collect(),
            ),
            "F16" => TensorData::F32(
                raw.chunks_exact(2)
                    .map(|b| f16_to_f32(u16::from_le_bytes([b[0], b[1]])))
                    .collect(),
            ),
            "BF16" => TensorData::F32(
                raw.chunks_exact(2)
                    .map(|b| f32::from_bits((u16::from_le_bytes([b[0], b[1]]) as u32) << 16))
                    .collect(),
            ),
            "I64" => TensorData::I64(
                raw.chunks_exact(8)
                    .map(|b| i64::from_le_bytes(b.try_into().expect("8 bytes")))
                    .collect(),
            ),
            _ => TensorData::I64(
                raw.chunks_exact(4)
                    .map(|b| i32::from_le_bytes(b.try_into().expect("4 bytes")) as i64)
                    .collect(),
            ),
        };
        tensors.push(Tensor {
            name,
            shape,
            data: values,
        });
    }
    Ok(Contents { tensors, metadata })
}

/// IEEE half precision to single, exactly (every f16 is an f32).
fn f16_to_f32(h: u16) -> f32 {
    let sign = ((h >> 15) as u32) << 31;
    let exp = ((h >> 10) & 0x1f) as u32;
    let frac = (h & 0x3ff) as u32;
    let bits = match (exp, frac) {
        (0, 0) => sign,
        (0, f) => {
            // Subnormal: value = f * 2^-24.
            return if sign != 0 { -1.0 } else { 1.0 } * f as f32 * (2.0f32).powi(-24);
        }
        (0x1f, f) => sign | 0x7f80_0000 | (f << 13),
        (e, f) => sign | ((e + 112) << 23) | (f << 13),
    };
    f32::from_bits(bits)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn half_precision_converts_exactly() {
        assert_eq!(f16_to_f32(0x3c00), 1.0);
        assert_eq!(f16_to_f32(0xc000), -2.0);
        assert_eq!(f16_to_f32(0x7bff), 65504.0);
        assert_eq!(f16_to_f32(0x0001), 2.0f32.powi(-24));
        assert!(f16_to_f32(0x7e00).is_nan());
        assert_eq!(f16_to_f32(0xfc00), f32::NEG_INFINITY);
    }
}
