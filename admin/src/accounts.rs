//! Owners manage operator accounts and API keys. Every change is audited;
//! passwords and keys never appear in responses or the audit log (a new
//! key is shown once, in the response that creates it).

use crate::auth::{digest, Owner, Role};
use crate::error::{AdminError, Result};
use crate::session::{check_password, hash_password, normalize_email};
use crate::store::{ApiKeyRow, OperatorRow};
use crate::{audit, now_ms, parse_json, AdminApi};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use queue::api::schemas;
use serde::Deserialize;
use serde_json::json;

fn role_field(role: Option<&str>, default: Role) -> Result<Role> {
    match role {
        None => Ok(default),
        Some(r) => Role::parse(r)
            .ok_or_else(|| AdminError::invalid("role", "must be one of viewer, operator, owner")),
    }
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct NewOperator {
    #[schema(schema_with = queue::api::schemas::fields::operator_email)]
    email: String,
    #[schema(schema_with = queue::api::schemas::fields::new_password)]
    password: String,
    /// Default `viewer`.
    #[schema(value_type = Option<queue::api::schemas::Role>)]
    role: Option<String>,
}

/// `GET /api/v1/admin/operators`.
#[utoipa::path(
    get,
    path = "/api/v1/admin/operators",
    operation_id = "listOperators",
    tag = "admin",
    summary = "Operator accounts",
    description = "Needs the `owner` role.",
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "Accounts (never passwords).", body = Vec<schemas::Operator>),
        schemas::AdminErrors,
    )
)]
pub async fn list_operators(
    State(api): State<AdminApi>,
    _owner: Owner,
) -> Result<Json<Vec<OperatorRow>>> {
    Ok(Json(api.db.operators().list().await?))
}

/// `POST /api/v1/admin/operators`: `{"email","password","role"}`.
#[utoipa::path(
    post,
    path = "/api/v1/admin/operators",
    operation_id = "createOperator",
    tag = "admin",
    summary = "Create an operator account",
    description = "Needs the `owner` role.",
    request_body(content = NewOperator),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 201, description = "The account.", body = schemas::Operator),
        (status = 400, description = "`invalid_json`.", body = schemas::Error),
        (status = 409, description = "`conflict`: an operator with this email exists.", body = schemas::Error),
        (status = 422, description = "`validation_failed`, with `field` naming the input: `email`, `password`, `role` (a password is 8 to 1024 characters); `field` is `body` when fields are missing or of the wrong type.", body = schemas::Error),
        (status = 415, response = schemas::AdminUnsupportedMediaType),
        schemas::AdminErrors,
    )
)]
pub async fn create_operator(
    State(api): State<AdminApi>,
    Owner(actor): Owner,
    body: Bytes,
) -> Result<Response> {
    let req: NewOperator = parse_json(&body)?;
    let email = normalize_email(&req.email)?;
    check_password(&req.password)?;
    let role = role_field(req.role.as_deref(), Role::Viewer)?;
    let row = OperatorRow {
        id: format!("op_{}", uuid::Uuid::new_v4().simple()),
        email,
        password_hash: hash_password(req.password).await?,
        role: role.as_str().to_owned(),
        created_at: now_ms() as i64,
        session_epoch: 0,
    };
    if !api.db.operators().insert(&row).await? {
        return Err(AdminError::Conflict("an operator with this email exists"));
    }
    let after = json!({"email": row.email, "role": row.role});
    let target = format!("operator:{}", row.id);
    audit::record(&api, &actor, "operator.create", &target, None, Some(after)).await?;
    Ok((StatusCode::CREATED, Json(row)).into_response())
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
struct OperatorChange {
    #[schema(value_type = Option<queue::api::schemas::Role>)]
    role: Option<String>,
    #[schema(schema_with = queue::api::schemas::fields::new_password_or_null)]
    password: Option<String>,
}

/// `PATCH /api/v1/admin/operators/{id}`: change role or password. Either
/// change ends the account's sessions. The audit entry names what changed
/// (old and new role; that the password changed), never password material.
#[utoipa::path(
    patch,
    path = "/api/v1/admin/operators/{id}",
    operation_id = "changeOperator",
    tag = "admin",
    summary = "Change an operator's role or password",
    description = "Needs the `owner` role.",
    params(
        ("id" = String, Path, pattern = "^[A-Za-z0-9_-]{1,100}$", description = "Operator id (`op_…`)."),
    ),
    request_body(content = OperatorChange),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "The account.", body = schemas::Operator),
        (status = 400, description = "`invalid_json`.", body = schemas::Error),
        (status = 404, description = "`not_found`: no such operator.", body = schemas::Error),
        (status = 422, description = "`validation_failed`, with `field` naming the input: `role`, `password`; `field` is `body` when fields are missing or of the wrong type.", body = schemas::Error),
        (status = 415, response = schemas::AdminUnsupportedMediaType),
        schemas::AdminErrors,
    )
)]
pub async fn change_operator(
    State(api): State<AdminApi>,
    Owner(actor): Owner,
    Path(id): Path<String>,
    body: Bytes,
) -> Result<Json<OperatorRow>> {
    let req: OperatorChange = parse_json(&body)?;
    let mut row = api
        .db
        .operators()
        .by_id(&id)
        .await?
        .ok_or(AdminError::NotFound("operator"))?;
    let current = role_field(Some(&row.role), Role::Viewer)?;
    let role = role_field(req.role.as_deref(), current)?;
    if let Some(password) = &req.password {
        check_password(password)?;
    }
    let role_changed = role != current;
    let password_changed = req.password.is_some();
    if !role_changed && !password_changed {
        // Nothing changes: no new epoch, nothing to audit.
        return Ok(Json(row));
    }
    if let Some(password) = req.password {
        row.password_hash = hash_password(password).await?;
    }
    row.role = role.as_str().to_owned();
    if !api
        .db
        .operators()
        .update(&id, &row.role, &row.password_hash)
        .await?
    {
        return Err(AdminError::NotFound("operator"));
    }
    let mut after = json!({"sessions_ended": true});
    let before = role_changed.then(|| json!({"role": current.as_str()}));
    if role_changed {
        after["role"] = json!(row.role);
    }
    if password_changed {
        after["password"] = json!("changed");
    }
    let target = format!("operator:{id}");
    audit::record(
        &api,
        &actor,
        "operator.change",
        &target,
        before,
        Some(after),
    )
    .await?;
    Ok(Json(row))
}

/// `DELETE /api/v1/admin/operators/{id}`.
#[utoipa::path(
    delete,
    path = "/api/v1/admin/operators/{id}",
    operation_id = "deleteOperator",
    tag = "admin",
    summary = "Delete an operator account",
    description = "Needs the `owner` role.",
    params(
        ("id" = String, Path, pattern = "^[A-Za-z0-9_-]{1,100}$", description = "Operator id (`op_…`)."),
    ),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 204, description = "Deleted."),
        (status = 404, description = "`not_found`: no such operator.", body = schemas::Error),
        (status = 409, description = "`conflict`: you cannot delete your own account.", body = schemas::Error),
        (status = 415, response = schemas::AdminUnsupportedMediaType),
        (status = 400, description = "`invalid_id`: the id is not 1 to 100 characters of A-Z, a-z, 0-9, '-' and '_'.", body = schemas::Error),
        schemas::AdminErrors,
    )
)]
pub async fn delete_operator(
    State(api): State<AdminApi>,
    Owner(actor): Owner,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    let row = api
        .db
        .operators()
        .by_id(&id)
        .await?
        .ok_or(AdminError::NotFound("operator"))?;
    if actor.operator_id.as_deref() == Some(id.as_str()) {
        return Err(AdminError::Conflict("you cannot delete your own account"));
    }
    api.db.operators().delete(&id).await?;
    let before = json!({"email": row.email, "role": row.role});
    let target = format!("operator:{id}");
    audit::record(&api, &actor, "operator.delete", &target, Some(before), None).await?;
    Ok(StatusCode::NO_CONTENT)
}

#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = NewApiKey)]
struct NewKey {
    #[schema(schema_with = queue::api::schemas::fields::name_100)]
    name: String,
    /// Default `operator`.
    #[schema(value_type = Option<queue::api::schemas::Role>)]
    role: Option<String>,
}

/// `GET /api/v1/admin/api-keys`: metadata only.
#[utoipa::path(
    get,
    path = "/api/v1/admin/api-keys",
    operation_id = "listApiKeys",
    tag = "admin",
    summary = "API keys (metadata only)",
    description = "Needs the `owner` role.",
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 200, description = "Keys, including revoked ones.", body = Vec<schemas::ApiKey>),
        schemas::AdminErrors,
    )
)]
pub async fn list_keys(State(api): State<AdminApi>, _owner: Owner) -> Result<Json<Vec<ApiKeyRow>>> {
    Ok(Json(api.db.api_keys().list().await?))
}

/// `POST /api/v1/admin/api-keys`: `{"name","role"}`; the key is in the
/// response once and never again.
#[utoipa::path(
    post,
    path = "/api/v1/admin/api-keys",
    operation_id = "createApiKey",
    tag = "admin",
    summary = "Create an API key (shown once)",
    description = "Needs the `owner` role.",
    request_body(content = NewKey),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 201, description = "The key's metadata and, this once, the key.", body = schemas::CreatedApiKey),
        (status = 400, description = "`invalid_json`.", body = schemas::Error),
        (status = 422, description = "`validation_failed`, with `field` naming the input: `name`, `role`; `field` is `body` when fields are missing or of the wrong type.", body = schemas::Error),
        (status = 415, response = schemas::AdminUnsupportedMediaType),
        schemas::AdminErrors,
    )
)]
pub async fn create_key(
    State(api): State<AdminApi>,
    Owner(actor): Owner,
    body: Bytes,
) -> Result<Response> {
    let req: NewKey = parse_json(&body)?;
    crate::sales::check_len("name", &req.name, 100)?;
    let name = req.name.trim().to_owned();
    let role = role_field(req.role.as_deref(), Role::Operator)?;
    let key = format!("wr_key_{}", uuid::Uuid::new_v4().simple());
    let row = ApiKeyRow {
        id: format!("key_{}", uuid::Uuid::new_v4().simple()),
        name,
        key_sha256: hex::encode(digest(&key)),
        role: role.as_str().to_owned(),
        created_by: actor.label.clone(),
        created_at: now_ms() as i64,
        revoked_at: None,
    };
    api.db.api_keys().insert(&row).await?;
    let after = json!({"name": row.name, "role": row.role});
    let target = format!("api_key:{}", row.id);
    audit::record(&api, &actor, "api_key.create", &target, None, Some(after)).await?;
    let mut body = serde_json::to_value(&row).map_err(|e| AdminError::Internal(e.to_string()))?;
    body["key"] = json!(key);
    Ok((StatusCode::CREATED, Json(body)).into_response())
}

/// `DELETE /api/v1/admin/api-keys/{id}`: revokes.
#[utoipa::path(
    delete,
    path = "/api/v1/admin/api-keys/{id}",
    operation_id = "revokeApiKey",
    tag = "admin",
    summary = "Revoke an API key",
    description = "Needs the `owner` role.",
    params(
        ("id" = String, Path, pattern = "^[A-Za-z0-9_-]{1,100}$", description = "API key id (`key_…`)."),
    ),
    security(("bearerAuth" = []), ("adminCookie" = [])),
    responses(
        (status = 204, description = "Revoked; it authenticates nobody from now on."),
        (status = 404, description = "`not_found`: no such API key.", body = schemas::Error),
        (status = 415, response = schemas::AdminUnsupportedMediaType),
        (status = 400, description = "`invalid_id`: the id is not 1 to 100 characters of A-Z, a-z, 0-9, '-' and '_'.", body = schemas::Error),
        schemas::AdminErrors,
    )
)]
pub async fn revoke_key(
    State(api): State<AdminApi>,
    Owner(actor): Owner,
    Path(id): Path<String>,
) -> Result<StatusCode> {
    if !api.db.api_keys().revoke(&id, now_ms() as i64).await? {
        return Err(AdminError::NotFound("api key"));
    }
    let target = format!("api_key:{id}");
    let after = json!({"revoked": true});
    audit::record(&api, &actor, "api_key.revoke", &target, None, Some(after)).await?;
    Ok(StatusCode::NO_CONTENT)
}
