//! Category management: create anywhere in the tree, rename, describe, order among siblings,
//! move, delete (its threads move to another category). The rules are
//! `models::categories`'.

use axum::extract::{Form, Path, State};
use axum::response::Response;
use serde::Deserialize;

use super::guard::{Admin, done};
use crate::error::{AppError, AppResult};
use crate::http::parse_id;
use crate::models::categories::{self, Placement};
use crate::state::AppState;

/// A parent field: empty or `0` for the top of the tree.
fn parent(s: &str) -> AppResult<Option<i64>> {
    match s.trim() {
        "" | "0" => Ok(None),
        v => v
            .parse()
            .map(Some)
            .map_err(|_| AppError::invalid("invalid parent category")),
    }
}

/// The new-category form.
#[derive(Deserialize)]
pub struct NewCategoryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    parent_id: String,
    is_question: Option<String>,
}

/// `POST /admin/categories`: creates a category anywhere in the tree.
pub async fn categories_create(
    State(state): State<AppState>,
    admin: Admin,
    Form(form): Form<NewCategoryForm>,
) -> AppResult<Response> {
    admin.viewer.check_csrf(&form.csrf)?;
    let name = categories::parse_name(&form.name)?;
    let description = categories::parse_description(&form.description)?;
    let client = state.pool.get().await?;
    categories::create(
        &client,
        parent(&form.parent_id)?,
        &name,
        &description,
        form.is_question.is_some(),
    )
    .await?;
    Ok(done("Category created."))
}

/// Rename / describe / order / move / delete a category.
#[derive(Deserialize)]
pub struct CategoryForm {
    #[serde(default)]
    csrf: String,
    #[serde(default)]
    action: String,
    #[serde(default)]
    name: String,
    #[serde(default)]
    parent_id: String,
    #[serde(default)]
    target_id: String,
    #[serde(default)]
    description: String,
    #[serde(default)]
    place: String,
}

/// `POST /admin/categories/{id}`: `rename`, `describe`, `up` / `down` / `place` (order among
/// siblings), `move` (never under itself), `delete` (its threads and subcategories move to
/// `target_id`).
pub async fn categories_update(
    State(state): State<AppState>,
    admin: Admin,
    Path(id): Path<String>,
    Form(form): Form<CategoryForm>,
) -> AppResult<Response> {
    admin.viewer.check_csrf(&form.csrf)?;
    let id = parse_id(&id)?;
    let mut client = state.pool.get().await?;
    let tx = client.transaction().await?;
    let tree = categories::lock_tree(&tx).await?;
    tree.get(id).ok_or(AppError::NotFound)?;
    let msg = match form.action.as_str() {
        "rename" => {
            let name = categories::parse_name(&form.name)?;
            categories::rename(&tx, id, &name).await?;
            "Category renamed."
        }
        "describe" => {
            let description = categories::parse_description(&form.description)?;
            categories::describe(&tx, id, &description).await?;
            "Description saved."
        }
        action @ ("up" | "down" | "place") => {
            let placement = match action {
                "up" => Placement::Up,
                "down" => Placement::Down,
                // Not a number: place 0, which is refused with the valid range.
                _ => Placement::At(form.place.trim().parse().unwrap_or(0)),
            };
            categories::reorder(&tx, &tree, id, placement).await?;
            "Category order saved."
        }
        "move" => {
            categories::move_to(&tx, &tree, id, parent(&form.parent_id)?).await?;
            "Category moved."
        }
        "delete" => {
            let target: i64 = form
                .target_id
                .trim()
                .parse()
                .map_err(|_| AppError::invalid("choose where its threads go"))?;
            categories::delete(&tx, &tree, id, target).await?;
            "Category deleted; its threads were moved."
        }
        _ => return Err(AppError::invalid("unknown action")),
    };
    tx.commit().await?;
    Ok(done(msg))
}
