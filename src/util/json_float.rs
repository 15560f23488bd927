//! Floats that survive JSON, NaN and infinities included.
//!
//! serde_json writes NaN and ±infinity as `null` and then refuses to read `null` back as a
//! float, so the history of a diverged run (or a run with an empty test split, whose test error
//! is NaN) could be written but not reopened. Fields marked
//! `#[serde(with = "crate::util::json_float")]` are written as plain numbers when finite and as
//! the strings `"NaN"`, `"Infinity"` and `"-Infinity"` otherwise (valid JSON, and the names
//! JavaScript and Python's `float()` use). Reading accepts numbers, those strings (any case,
//! also `"inf"`), and `null` as NaN, so files written before this change still open.
use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use std::fmt;

/// A value whose floats can be written and read this way: `f32`, `f64`, and `Vec`s and
/// `Option`s of them.
pub trait JsonFloat: Sized {
    fn write<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error>;
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error>;
}

pub fn serialize<T: JsonFloat, S: Serializer>(v: &T, s: S) -> Result<S::Ok, S::Error> {
    v.write(s)
}

pub fn deserialize<'de, T: JsonFloat, D: Deserializer<'de>>(d: D) -> Result<T, D::Error> {
    T::read(d)
}

fn special(v: f64) -> Option<&'static str> {
    if v.is_nan() {
        Some("NaN")
    } else if v == f64::INFINITY {
        Some("Infinity")
    } else if v == f64::NEG_INFINITY {
        Some("-Infinity")
    } else {
        None
    }
}

fn parse_special(s: &str) -> Option<f64> {
    match s.trim().to_ascii_lowercase().as_str() {
        "nan" | "-nan" => Some(f64::NAN),
        "infinity" | "inf" | "+infinity" | "+inf" => Some(f64::INFINITY),
        "-infinity" | "-inf" => Some(f64::NEG_INFINITY),
        _ => None,
    }
}

struct FloatVisitor;

impl<'de> Visitor<'de> for FloatVisitor {
    type Value = f64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a number, \"NaN\", \"Infinity\", \"-Infinity\" or null")
    }
    fn visit_f64<E: de::Error>(self, v: f64) -> Result<f64, E> {
        Ok(v)
    }
    fn visit_i64<E: de::Error>(self, v: i64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_u64<E: de::Error>(self, v: u64) -> Result<f64, E> {
        Ok(v as f64)
    }
    fn visit_str<E: de::Error>(self, v: &str) -> Result<f64, E> {
        parse_special(v).ok_or_else(|| E::invalid_value(de::Unexpected::Str(v), &self))
    }
    fn visit_unit<E: de::Error>(self) -> Result<f64, E> {
        Ok(f64::NAN)
    }
    fn visit_none<E: de::Error>(self) -> Result<f64, E> {
        Ok(f64::NAN)
    }
}

impl JsonFloat for f64 {
    fn write<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match special(*self) {
            Some(text) => s.serialize_str(text),
            None => s.serialize_f64(*self),
        }
    }
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FloatVisitor)
    }
}

impl JsonFloat for f32 {
    fn write<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match special(*self as f64) {
            Some(text) => s.serialize_str(text),
            None => s.serialize_f32(*self),
        }
    }
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(FloatVisitor).map(|v| v as f32)
    }
}

/// Wraps a reference so a sequence element goes through [`JsonFloat::write`].
struct Out<'a, T>(&'a T);

impl<T: JsonFloat> serde::Serialize for Out<'_, T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        self.0.write(s)
    }
}

/// Reads one element through [`JsonFloat::read`].
struct In<T>(T);

impl<'de, T: JsonFloat> serde::Deserialize<'de> for In<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        T::read(d).map(In)
    }
}

impl<T: JsonFloat> JsonFloat for Vec<T> {
    fn write<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.len()))?;
        for v in self {
            seq.serialize_element(&Out(v))?;
        }
        seq.end()
    }
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V<T>(std::marker::PhantomData<T>);
        impl<'de, T: JsonFloat> Visitor<'de> for V<T> {
            type Value = Vec<T>;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a list of numbers")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut a: A) -> Result<Vec<T>, A::Error> {
                // The size hint comes from the file: never trust it for the allocation.
                let mut out = Vec::with_capacity(a.size_hint().unwrap_or(0).min(4096));
                while let Some(In(v)) = a.next_element::<In<T>>()? {
                    out.push(v);
                }
                Ok(out)
            }
        }
        d.deserialize_seq(V(std::marker::PhantomData))
    }
}

impl<T: JsonFloat> JsonFloat for Option<T> {
    fn write<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match self {
            Some(v) => s.serialize_some(&Out(v)),
            None => s.serialize_none(),
        }
    }
    fn read<'de, D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        // `null` is "no value" here, not NaN: an Option says so itself.
        Option::<In<T>>::deserialize(d).map(|o| o.map(|In(v)| v))
    }
}

#[cfg(test)]
mod tests {
    use serde::{Deserialize, Serialize};

    #[derive(Debug, Serialize, Deserialize)]
    struct T {
        #[serde(with = "super")]
        a: f32,
        #[serde(with = "super")]
        b: f64,
        #[serde(with = "super")]
        v: Vec<f32>,
        #[serde(with = "super")]
        o: Option<f32>,
    }

    fn same(x: f64, y: f64) -> bool {
        (x.is_nan() && y.is_nan()) || x.to_bits() == y.to_bits()
    }

    #[test]
    fn non_finite_values_round_trip_and_old_nulls_read_as_nan() {
        let t = T {
            a: f32::NAN,
            b: f64::NEG_INFINITY,
            v: vec![1.5, f32::INFINITY, f32::NAN, -0.0, f32::MIN_POSITIVE, 0.1],
            o: Some(f32::NAN),
        };
        let j = serde_json::to_string(&t).unwrap();
        assert!(j.contains("\"NaN\"") && j.contains("\"-Infinity\""), "{j}");
        let u: T = serde_json::from_str(&j).unwrap();
        assert!(same(u.a as f64, t.a as f64) && same(u.b, t.b));
        assert!(
            t.v.iter()
                .zip(&u.v)
                .all(|(x, y)| same(*x as f64, *y as f64))
        );
        assert!(u.o.unwrap().is_nan());
        let old: T =
            serde_json::from_str(r#"{"a":null,"b":2,"v":[null,1e3,"inf"],"o":null}"#).unwrap();
        assert!(old.a.is_nan() && old.b == 2.0 && old.v[0].is_nan() && old.v[2].is_infinite());
        assert!(old.o.is_none());
        let e = serde_json::from_str::<T>(r#"{"a":"lots","b":1,"v":[],"o":null}"#).unwrap_err();
        assert!(e.to_string().contains("lots"), "{e}");
    }
}
