//! The fields that let fans find an event: its category and its city, as
//! operators set them on creating or editing it.

use crate::error::AdminError;

/// `category` in a patch.
pub(crate) fn category_or_null() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            utoipa::openapi::schema::Type::String,
            utoipa::openapi::schema::Type::Null,
        ]))
        .enum_values(Some(
            booking::db::CATEGORIES
                .iter()
                .map(|c| serde_json::Value::from(*c))
                .chain([serde_json::Value::Null]),
        ))
        .description(Some("The event's category (the home page's filter)."))
        .build()
}

/// `city` in a patch.
pub(crate) fn city_or_null() -> utoipa::openapi::schema::Object {
    utoipa::openapi::schema::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::SchemaType::from_iter([
            utoipa::openapi::schema::Type::String,
            utoipa::openapi::schema::Type::Null,
        ]))
        .max_length(Some(100))
        .description(Some(
            "The event's city, at most 100 characters (may be empty).",
        ))
        .build()
}

/// A category from the catalog's list.
pub(crate) fn check_category(v: &str) -> Result<String, AdminError> {
    if booking::db::CATEGORIES.contains(&v) {
        return Ok(v.to_owned());
    }
    Err(AdminError::invalid(
        "category",
        format!("must be one of {}", booking::db::CATEGORIES.join(", ")),
    ))
}

/// A city: at most 100 characters, stored trimmed (may be empty).
pub(crate) fn check_city(v: &str) -> Result<String, AdminError> {
    if v.chars().count() > 100 {
        return Err(AdminError::invalid(
            "city",
            "must be at most 100 characters",
        ));
    }
    Ok(v.trim().to_owned())
}
