//! Roles an administrator manages: custom roles' names, creating and deleting them, a role's
//! permissions in a category, and which custom roles a member holds. What the permissions mean
//! and how they are resolved is [`crate::models::permissions`]'.

use deadpool_postgres::GenericClient;

use crate::error::AppError;
use crate::models::permissions::{ADMINISTRATOR, Flags};

/// Checks a custom role's name: 2 to 40 letters, digits, spaces, `_` or `-`, not a built-in
/// role's name nor `administrator`.
pub fn parse_role_name(s: &str) -> Result<String, AppError> {
    let name = crate::models::text::text_field("the role name", s, 2, 40)?;
    if !name
        .chars()
        .all(|c| c.is_alphanumeric() || " _-".contains(c))
    {
        return Err(AppError::invalid(
            "a role name has letters, digits, spaces, '_' or '-'",
        ));
    }
    if ["guest", "member", "moderator", ADMINISTRATOR, "admin"]
        .iter()
        .any(|b| b.eq_ignore_ascii_case(&name))
    {
        return Err(AppError::invalid("that name belongs to a built-in role"));
    }
    Ok(name)
}

/// Creates a custom role; 409 when the name is taken.
pub async fn create_role(client: &impl GenericClient, name: &str) -> Result<i64, AppError> {
    let row = client
        .query_opt(
            "INSERT INTO roles (name) VALUES ($1) ON CONFLICT DO NOTHING RETURNING id",
            &[&name],
        )
        .await?
        .ok_or_else(|| AppError::Conflict("a role with that name exists".into()))?;
    Ok(row.get(0))
}

/// Deletes custom role `id` (its settings and assignments go with it); 404 for a built-in or
/// missing role.
pub async fn delete_role(client: &impl GenericClient, id: i64) -> Result<(), AppError> {
    let n = client
        .execute("DELETE FROM roles WHERE id = $1 AND NOT is_builtin", &[&id])
        .await?;
    if n == 0 {
        return Err(AppError::NotFound);
    }
    Ok(())
}

/// Sets (Some) or clears (None: inherit again) the permissions of `role` in `category`.
pub async fn set(
    client: &impl GenericClient,
    category: i64,
    role: i64,
    flags: Option<Flags>,
) -> Result<(), AppError> {
    match flags {
        Some(f) => {
            client
                .execute(
                    "INSERT INTO category_permissions
                       (category_id, role_id, can_see, can_read, can_start, can_reply, can_moderate)
                     VALUES ($1, $2, $3, $4, $5, $6, $7)
                     ON CONFLICT (category_id, role_id) DO UPDATE SET
                       can_see = $3, can_read = $4, can_start = $5, can_reply = $6, can_moderate = $7",
                    &[
                        &category,
                        &role,
                        &f.see,
                        &f.read,
                        &f.start,
                        &f.reply,
                        &f.moderate,
                    ],
                )
                .await?;
        }
        None => {
            client
                .execute(
                    "DELETE FROM category_permissions WHERE category_id = $1 AND role_id = $2",
                    &[&category, &role],
                )
                .await?;
        }
    }
    Ok(())
}

/// The custom roles of user `id`, by id.
pub async fn user_roles(client: &impl GenericClient, id: i64) -> Result<Vec<i64>, AppError> {
    Ok(client
        .query(
            "SELECT role_id FROM user_roles WHERE user_id = $1 ORDER BY role_id",
            &[&id],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect())
}

/// Replaces the custom roles of user `user` with `roles` (ids of custom roles; 422 otherwise);
/// 404 for a missing user.
pub async fn assign(client: &impl GenericClient, user: i64, roles: &[i64]) -> Result<(), AppError> {
    client
        .query_opt("SELECT 1 FROM users WHERE id = $1", &[&user])
        .await?
        .ok_or(AppError::NotFound)?;
    let custom: i64 = client
        .query_one(
            "SELECT count(*) FROM roles WHERE id = ANY($1) AND NOT is_builtin",
            &[&roles],
        )
        .await?
        .get(0);
    let mut distinct = roles.to_vec();
    distinct.sort_unstable();
    distinct.dedup();
    if custom != distinct.len() as i64 {
        return Err(AppError::invalid(
            "only custom roles can be assigned (members and moderators hold theirs by their role)",
        ));
    }
    client
        .execute("DELETE FROM user_roles WHERE user_id = $1", &[&user])
        .await?;
    client
        .execute(
            "INSERT INTO user_roles (user_id, role_id) SELECT $1, unnest($2::bigint[])",
            &[&user, &distinct],
        )
        .await?;
    Ok(())
}
