//! Who may use the admin panel: [`Admin`], an administrator with an admin-panel session, and
//! the redirect after an action.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Redirect, Response};

use crate::auth::{self, SessionKind, Viewer};
use crate::http::cookies::{ADMIN_COOKIE, cookie};
use crate::models::users::User;
use crate::state::AppState;

/// An admin with an admin-panel session; anything else is redirected to `/admin/login`.
#[derive(Debug)]
pub struct Admin {
    /// The admin.
    pub user: User,
    /// The request's viewer.
    pub viewer: Viewer,
}

/// Why [`Admin`] was refused.
#[derive(Debug)]
pub struct NeedAdminLogin;

impl IntoResponse for NeedAdminLogin {
    fn into_response(self) -> Response {
        Redirect::to("/admin/login").into_response()
    }
}

impl FromRequestParts<AppState> for Admin {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &AppState,
    ) -> Result<Self, Self::Rejection> {
        let viewer = Viewer::from_request_parts(parts, state)
            .await
            .map_err(IntoResponse::into_response)?;
        let Some(token) = cookie(&parts.headers, ADMIN_COOKIE).map(str::to_owned) else {
            return Err(NeedAdminLogin.into_response());
        };
        match auth::session_user(&state.pool, &token, SessionKind::Admin).await {
            Ok(Some((user, _))) if user.is_admin() && !user.is_banned() => {
                Ok(Admin { user, viewer })
            }
            Ok(_) => Err(NeedAdminLogin.into_response()),
            Err(e) => Err(e.into_response()),
        }
    }
}

/// The redirect to `/admin/` showing `msg`, after an action.
pub(super) fn done(msg: &str) -> Response {
    let q: String =
        percent_encoding::utf8_percent_encode(msg, percent_encoding::NON_ALPHANUMERIC).to_string();
    Redirect::to(&format!("/admin/?msg={q}")).into_response()
}
