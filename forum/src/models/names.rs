//! Usernames as people see them: a name is stored in Unicode NFKC (so `ａｄｍｉｎ`, in
//! full-width letters, is `admin`), compared without case, and kept apart from every name it
//! could pass for by its confusable skeleton (Unicode TS #39: `аdmin` with a Cyrillic `а`,
//! `adm1n`... share `admin`'s). `users.name_skeleton` is unique, so no name can imitate another.

use deadpool_postgres::GenericClient;
use unicode_normalization::UnicodeNormalization as _;

use crate::error::AppError;

/// `s` trimmed, in NFKC.
pub fn normalize(s: &str) -> String {
    s.trim().nfkc().collect()
}

/// What a login and the login limits look a name up by: NFKC, lower case, at most 100
/// characters.
pub fn login_key(s: &str) -> String {
    normalize(s).to_lowercase().chars().take(100).collect()
}

/// The confusable skeleton of a name, without case: two names with the same skeleton look
/// alike.
pub fn skeleton(name: &str) -> String {
    let lower = normalize(name).to_lowercase();
    let skeleton: String = unicode_security::skeleton(&lower).collect();
    // The confusables map some characters to capitals (`0` to `O`): fold case once more.
    skeleton.to_lowercase().nfkc().collect()
}

/// Fills `users.name_skeleton` where it is missing (accounts made before it existed, or by the
/// bulk seed); a name whose skeleton another account already holds keeps none and is logged.
/// Returns how many were filled.
pub async fn fill_missing_skeletons(client: &impl GenericClient) -> Result<u64, AppError> {
    let rows = client
        .query(
            "SELECT id, username FROM users WHERE name_skeleton IS NULL ORDER BY id",
            &[],
        )
        .await?;
    let mut filled = 0;
    for row in rows {
        let (id, name): (i64, String) = (row.get(0), row.get(1));
        let taken = client
            .query_opt(
                "UPDATE users SET name_skeleton = $2 WHERE id = $1
                   AND NOT EXISTS (SELECT 1 FROM users WHERE name_skeleton = $2)
                 RETURNING id",
                &[&id, &skeleton(&name)],
            )
            .await?
            .is_none();
        if taken {
            tracing::warn!(
                user = id,
                "a username looks like another one's; left without a skeleton"
            );
        } else {
            filled += 1;
        }
    }
    Ok(filled)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_letters_become_plain_ones() {
        assert_eq!(normalize(" ａｄｍｉｎ "), "admin");
        assert_eq!(login_key("ＡＤＭＩＮ"), "admin");
    }

    #[test]
    fn look_alike_names_share_a_skeleton() {
        let admin = skeleton("admin");
        assert_eq!(skeleton("аdmin"), admin, "Cyrillic а");
        assert_eq!(skeleton("ａｄｍｉｎ"), admin, "full width");
        assert_eq!(skeleton("ADMIN"), admin, "case");
        assert_eq!(skeleton("Admin"), admin);
        assert_eq!(skeleton("adm1n"), skeleton("admln"), "1 and l");
        assert_ne!(skeleton("alice"), admin);
    }
}
