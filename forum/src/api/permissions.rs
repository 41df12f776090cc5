//! Permissions in the API (administrators only; 401 without a login, 403 for others):
//! `GET`/`PUT /api/categories/{id}/permissions`, the custom roles (`GET`/`POST /api/roles/`,
//! `DELETE /api/roles/{id}/`) and a user's custom roles (`GET`/`PUT /api/users/{id}/roles`).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::{Value, json};

use super::error::{ApiJson, ApiResult, login_as_401};
use crate::auth::Viewer;
use crate::error::AppError;
use crate::http::parse_id;
use crate::models::permissions::{self, Flags, PermissionTable, RoleKind};
use crate::models::roles;
use crate::models::users::User;
use crate::state::AppState;

fn require_admin(viewer: &Viewer) -> Result<&User, AppError> {
    let user = viewer.require_writer().map_err(login_as_401)?;
    if !user.is_admin() {
        return Err(AppError::Forbidden(
            "only administrators manage permissions".into(),
        ));
    }
    Ok(user)
}

/// The grid of category `id`: per role, its flags in force and whether they are inherited
/// (the body of a `PUT` that changes nothing).
fn grid(table: &PermissionTable, id: i64) -> Value {
    let mut out = serde_json::Map::new();
    for role in table.roles() {
        let flags = table.effective(role, id);
        let mut v = serde_json::to_value(flags).unwrap_or(Value::Null);
        if let Value::Object(m) = &mut v {
            m.insert(
                "inherited".into(),
                Value::Bool(table.setting(id, role.id).is_none()),
            );
        }
        out.insert(role.name.clone(), v);
    }
    Value::Object(out)
}

/// One role's part of a `PUT`: its five flags, or `null` or `{"inherited": true}` to take the
/// parent's again (None); `"inherited": false` beside the flags is allowed, so what `GET`
/// answers can be sent back.
fn setting(name: &str, v: &Value) -> Result<Option<Flags>, AppError> {
    let mut v = v.clone();
    if let Value::Object(m) = &mut v {
        match m.remove("inherited") {
            Some(Value::Bool(true)) => return Ok(None),
            None | Some(Value::Bool(false)) => {}
            Some(_) => return Err(AppError::invalid(format!("{name}: inherited is a boolean"))),
        }
    }
    if v.is_null() {
        return Ok(None);
    }
    serde_json::from_value(v).map(Some).map_err(|e| {
        AppError::invalid(format!(
            "{name}: give see, read, start, reply and moderate as booleans, or \"inherited\": true ({e})"
        ))
    })
}

/// `GET /api/categories/{id}/permissions`: `{"<role>": {see, read, start, reply, moderate,
/// inherited}}` for every role but administrators (who may do everything): the permissions in
/// force, and whether they come from the parent.
pub async fn show(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    require_admin(&viewer)?;
    let client = state.pool.get().await?;
    let table = PermissionTable::load(&client).await?;
    table.tree().get(id).ok_or(AppError::NotFound)?;
    Ok(Json(grid(&table, id)).into_response())
}

/// `PUT /api/categories/{id}/permissions` with `{"<role>": {see, read, start, reply,
/// moderate}, ...}`: sets each named role (`null` or `{"inherited": true}`: inherit from the
/// parent again; what `GET` answers can be sent back); roles not named are unchanged. 422 for
/// an unknown role (or `administrator`) or a missing flag; 200 with the grid.
pub async fn update(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<BTreeMap<String, Value>>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    require_admin(&viewer)?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let table = PermissionTable::load(&tx).await?;
    table.tree().get(id).ok_or(AppError::NotFound)?;
    if body.is_empty() {
        return Err(AppError::invalid("name at least one role").into());
    }
    for (name, flags) in &body {
        if name.eq_ignore_ascii_case(permissions::ADMINISTRATOR) {
            return Err(AppError::invalid(
                "administrators may do everything: their permissions cannot be set",
            )
            .into());
        }
        let role = table
            .role(name)
            .ok_or_else(|| AppError::invalid(format!("unknown role: {name}")))?;
        let flags = setting(name, flags)?;
        roles::set(&tx, id, role.id, flags).await?;
    }
    let table = PermissionTable::load(&tx).await?;
    tx.commit().await?;
    Ok(Json(grid(&table, id)).into_response())
}

/// `GET /api/roles/`: every role with its kind and, for custom ones, how many users hold it.
pub async fn roles_index(State(state): State<AppState>, viewer: Viewer) -> ApiResult<Response> {
    require_admin(&viewer)?;
    let client = state.pool.get().await?;
    let table = PermissionTable::load(&client).await?;
    Ok(Json(json!({ "results": table.roles() })).into_response())
}

/// A new role.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NewRole {
    /// Its name.
    pub name: String,
}

/// `POST /api/roles/` `{name}`: 201 `{id, name}`; 409 when the name is taken.
pub async fn roles_create(
    State(state): State<AppState>,
    viewer: Viewer,
    ApiJson(body): ApiJson<NewRole>,
) -> ApiResult<Response> {
    require_admin(&viewer)?;
    let name = roles::parse_role_name(&body.name).map_err(AppError::in_field("name"))?;
    let client = state.pool.get().await?;
    let id = roles::create_role(&client, &name).await?;
    Ok((StatusCode::CREATED, Json(json!({ "id": id, "name": name }))).into_response())
}

/// `DELETE /api/roles/{id}/`: a custom role, with its settings and assignments; 204.
pub async fn roles_delete(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    require_admin(&viewer)?;
    let client = state.pool.get().await?;
    roles::delete_role(&client, id).await?;
    Ok(StatusCode::NO_CONTENT.into_response())
}

/// The roles of a user.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRoles {
    /// Names of custom roles.
    pub roles: Vec<String>,
}

fn user_roles_json(table: &PermissionTable, user: i64, ids: &[i64]) -> Value {
    let names: Vec<&str> = table
        .roles()
        .iter()
        .filter(|r| r.kind == RoleKind::Custom && ids.contains(&r.id))
        .map(|r| r.name.as_str())
        .collect();
    json!({ "user_id": user, "roles": names })
}

/// `GET /api/users/{id}/roles`: the user's custom roles.
pub async fn user_roles(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    require_admin(&viewer)?;
    let client = state.pool.get().await?;
    let table = PermissionTable::load(&client).await?;
    let ids = roles::user_roles(&client, id).await?;
    Ok(Json(user_roles_json(&table, id, &ids)).into_response())
}

/// `PUT /api/users/{id}/roles` `{roles: [name, ...]}`: replaces the user's custom roles; 422 for
/// an unknown or built-in role.
pub async fn user_roles_update(
    State(state): State<AppState>,
    viewer: Viewer,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<UserRoles>,
) -> ApiResult<Response> {
    let id = parse_id(&id)?;
    require_admin(&viewer)?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let table = PermissionTable::load(&tx).await?;
    let ids = body
        .roles
        .iter()
        .map(|n| {
            table
                .role(n)
                .filter(|r| r.kind == RoleKind::Custom)
                .map(|r| r.id)
                .ok_or_else(|| AppError::invalid(format!("unknown custom role: {n}")))
        })
        .collect::<Result<Vec<i64>, AppError>>()?;
    roles::assign(&tx, id, &ids).await?;
    tx.commit().await?;
    Ok(Json(user_roles_json(&table, id, &ids)).into_response())
}
