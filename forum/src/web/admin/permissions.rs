//! Permissions in the admin panel: the grid of a category (each role's five permissions, or
//! "inherit" from the parent), the custom roles (list, create, delete), and the custom roles
//! of a user. The rules are `models::permissions`'.

use askama::Template;
use axum::extract::{Form, Path, State};
use axum::response::IntoResponse;
use axum::response::{Redirect, Response};
use serde::Deserialize;

use super::guard::{Admin, done};
use crate::error::{AppError, AppResult};
use crate::http::parse_id;
use crate::models::Category;
use crate::models::permissions::{Flags, PermissionTable, RoleKind, RoleRow};
use crate::models::roles;
use crate::state::AppState;
use crate::web::templates::{Ctx, page};

/// One row of the grid.
struct GridRow {
    role: RoleRow,
    /// Set here (None: inherited).
    set: Option<Flags>,
    /// In force, with the implications applied.
    effective: Flags,
}

impl GridRow {
    /// Whether `perm` (`see`, ...) is checked in the form: the setting, or what is inherited.
    fn checked(&self, perm: &str) -> bool {
        let f = self.set.unwrap_or(self.effective);
        match perm {
            "see" => f.see,
            "read" => f.read,
            "start" => f.start,
            "reply" => f.reply,
            _ => f.moderate,
        }
    }
}

#[derive(Template)]
#[template(path = "admin_permissions.html")]
struct GridPage {
    ctx: Ctx,
    category: Category,
    rows: Vec<GridRow>,
    perms: [&'static str; 5],
}

/// `GET /admin/categories/{id}/permissions`: the grid.
pub async fn grid(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let client = state.pool.get().await?;
    let table = PermissionTable::load(&client).await?;
    let category = table.tree().get(id).cloned().ok_or(AppError::NotFound)?;
    let rows = table
        .roles()
        .iter()
        .map(|r| GridRow {
            role: r.clone(),
            set: table.setting(id, r.id),
            effective: table.effective(r, id),
        })
        .collect();
    Ok(page(&GridPage {
        ctx: Ctx::new(&admin.viewer, format!("Permissions of {}", category.name)),
        category,
        rows,
        perms: ["see", "read", "start", "reply", "moderate"],
    }))
}

/// `POST /admin/categories/{id}/permissions`: fields `<role id>_inherit` (on: no setting) and
/// `<role id>_<perm>` (on: granted) for every role of the grid.
pub async fn grid_update(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map_or("", |(_, v)| v.as_str());
    admin.viewer.check_csrf(csrf)?;
    let on = |name: String| fields.iter().any(|(k, _)| *k == name);
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let table = PermissionTable::load(&tx).await?;
    table.tree().get(id).ok_or(AppError::NotFound)?;
    for role in table.roles() {
        let r = role.id;
        let flags = if on(format!("{r}_inherit")) {
            None
        } else {
            Some(Flags {
                see: on(format!("{r}_see")),
                read: on(format!("{r}_read")),
                start: on(format!("{r}_start")),
                reply: on(format!("{r}_reply")),
                moderate: on(format!("{r}_moderate")),
            })
        };
        roles::set(&tx, id, r, flags).await?;
    }
    tx.commit().await?;
    Ok(Redirect::to(&format!("/admin/categories/{id}/permissions")).into_response())
}

#[derive(Template)]
#[template(path = "admin_roles.html")]
struct RolesPage {
    ctx: Ctx,
    roles: Vec<RoleRow>,
}

impl RolesPage {
    fn is_custom(&self, r: &RoleRow) -> bool {
        r.kind == RoleKind::Custom
    }
}

/// `GET /admin/roles`: every role; custom ones with their holders' count and a delete button.
pub async fn roles_index(State(state): State<AppState>, admin: Admin) -> AppResult<Response> {
    let client = state.pool.get().await?;
    let table = PermissionTable::load(&client).await?;
    Ok(page(&RolesPage {
        ctx: Ctx::new(&admin.viewer, "Roles"),
        roles: table.roles().to_vec(),
    }))
}

/// The new-role form.
#[derive(Deserialize)]
pub struct RoleForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
}

/// `POST /admin/roles`: creates a custom role.
pub async fn roles_create(
    State(state): State<AppState>,
    admin: Admin,
    Form(form): Form<RoleForm>,
) -> AppResult<Response> {
    admin.viewer.check_csrf(&form.csrf)?;
    let name = roles::parse_role_name(&form.name)?;
    let client = state.pool.get().await?;
    roles::create_role(&client, &name).await?;
    Ok(Redirect::to("/admin/roles").into_response())
}

/// A form with only the CSRF token.
#[derive(Deserialize)]
pub struct CsrfOnly {
    #[serde(default)]
    csrf: String,
}

/// `POST /admin/roles/{id}/delete`.
pub async fn roles_delete(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Form(form): Form<CsrfOnly>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    admin.viewer.check_csrf(&form.csrf)?;
    let client = state.pool.get().await?;
    roles::delete_role(&client, id).await?;
    Ok(Redirect::to("/admin/roles").into_response())
}

#[derive(Template)]
#[template(path = "admin_user_roles.html")]
struct UserRolesPage {
    ctx: Ctx,
    user_id: i64,
    username: String,
    roles: Vec<Held>,
}

/// A custom role and whether the user holds it.
struct Held {
    role: RoleRow,
    held: bool,
}

/// `GET /admin/users/{id}/roles`: the custom roles of a user, as checkboxes.
pub async fn user_roles(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let client = state.pool.get().await?;
    let profile = crate::models::users::profile(&client, id).await?;
    let table = PermissionTable::load(&client).await?;
    let held = roles::user_roles(&client, id).await?;
    let roles = table
        .roles()
        .iter()
        .filter(|r| r.kind == RoleKind::Custom)
        .map(|r| Held {
            role: r.clone(),
            held: held.contains(&r.id),
        })
        .collect();
    Ok(page(&UserRolesPage {
        ctx: Ctx::new(&admin.viewer, format!("Roles of {}", profile.username)),
        user_id: id,
        username: profile.username,
        roles,
    }))
}

/// `POST /admin/users/{id}/roles`: fields `role` (repeated: ids of the custom roles held).
pub async fn user_roles_update(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Form(fields): Form<Vec<(String, String)>>,
) -> AppResult<Response> {
    let id = parse_id(&id)?;
    let csrf = fields
        .iter()
        .find(|(k, _)| k == "csrf")
        .map_or("", |(_, v)| v.as_str());
    admin.viewer.check_csrf(csrf)?;
    let roles = fields
        .iter()
        .filter(|(k, _)| k == "role")
        .map(|(_, v)| {
            v.parse::<i64>()
                .map_err(|_| AppError::invalid("invalid role"))
        })
        .collect::<AppResult<Vec<i64>>>()?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    roles::assign(&tx, id, &roles).await?;
    tx.commit().await?;
    Ok(done("Roles saved."))
}
