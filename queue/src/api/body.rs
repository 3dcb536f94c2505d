//! Request bodies as the API document describes them: a JSON object, whose
//! whole-valued numbers are integers. JSON Schema counts `358.0` as the
//! integer 358, while serde refuses it for an integer field; and serde
//! reads a struct from an array too, which the document does not allow.

use super::{ApiError, ErrorCode};
use axum::body::{Body, Bytes, HttpBody};
use axum::extract::{FromRequest, Request};
use serde::de::DeserializeOwned;
use serde_json::{Number, Value};

/// The largest join body: a CAPTCHA solution is a few hundred bytes, a
/// widget's token a few KiB.
pub const JOIN_BODY_LIMIT: usize = 16 * 1024;

/// A join's body, read by the edge (for a CAPTCHA solution) or by the
/// queue. Most joins send none, and a body that says so (no length, or
/// `Content-Length: 0`) is not collected: collecting is a good part of an
/// empty join's work.
pub async fn join_body(body: Body) -> Result<Bytes, ApiError> {
    if body.size_hint().exact() == Some(0) {
        return Ok(Bytes::new());
    }
    axum::body::to_bytes(body, JOIN_BODY_LIMIT)
        .await
        .map_err(|_| ApiError::of(ErrorCode::PayloadTooLarge, "the join body is too large"))
}

/// [`join_body`] as an extractor.
pub struct JoinBody(pub Bytes);

impl<S: Send + Sync> FromRequest<S> for JoinBody {
    type Rejection = ApiError;

    async fn from_request(req: Request, _: &S) -> Result<Self, ApiError> {
        join_body(req.into_body()).await.map(Self)
    }
}

/// Why a body was refused.
#[derive(Debug)]
pub enum BodyError {
    /// Not JSON at all (400 `invalid_json`).
    Syntax(serde_json::Error),
    /// JSON of the wrong shape (422 `validation_failed`, field `body`).
    Shape(String),
}

/// Parses `bytes` as a JSON object into `T`.
pub fn json_object<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, BodyError> {
    let value: Value = serde_json::from_slice(bytes).map_err(BodyError::Syntax)?;
    from_json_value(value).map_err(BodyError::Shape)
}

/// Reads `T` from a parsed body; the error is the reason in words.
pub fn from_json_value<T: DeserializeOwned>(mut value: Value) -> Result<T, String> {
    if !value.is_object() {
        return Err("must be a JSON object".to_owned());
    }
    integral(&mut value);
    T::deserialize(value).map_err(|e| e.to_string())
}

/// Turns whole-valued floats into integers, in place, everywhere.
fn integral(value: &mut Value) {
    match value {
        Value::Number(n) => {
            if let Some(f) = n.as_f64().filter(|_| n.is_f64()) {
                // In [-2^63, 2^63) every whole f64 is an i64; outside it
                // the float stays, and the field's own type refuses it.
                const TWO_POW_63: f64 = 9_223_372_036_854_775_808.0;
                if f.fract() == 0.0 && (-TWO_POW_63..TWO_POW_63).contains(&f) {
                    *n = Number::from(f as i64);
                }
            }
        }
        Value::Array(items) => items.iter_mut().for_each(integral),
        Value::Object(map) => map.values_mut().for_each(integral),
        _ => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, serde::Deserialize)]
    struct Seats {
        seats: Vec<i64>,
    }

    #[test]
    fn whole_floats_are_integers_and_arrays_are_not_objects() {
        let ok: Seats = json_object(br#"{"seats":[3.0,-4.0,5]}"#).expect("integral floats");
        assert_eq!(ok.seats, vec![3, -4, 5]);
        assert!(matches!(
            json_object::<Seats>(br#"{"seats":[3.5]}"#),
            Err(BodyError::Shape(_))
        ));
        assert!(matches!(
            json_object::<Seats>(br#"[[1]]"#),
            Err(BodyError::Shape(m)) if m == "must be a JSON object"
        ));
        assert!(matches!(
            json_object::<Seats>(b"{"),
            Err(BodyError::Syntax(_))
        ));
    }
}
