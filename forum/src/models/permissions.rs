//! Permissions per category: roles, what each role may do in each category, and what a
//! viewer's set of roles may do once inheritance and the implications between permissions are
//! resolved ([`Grants`]). The decisions themselves are [`crate::models::policy`]'s.
//!
//! The model, as Misago's operators know it:
//! - roles: the built-in `guest` (not logged in), `member`, `moderator`, and custom roles an
//!   administrator creates and assigns to members. A member holds `member`; a moderator holds
//!   `member` and `moderator`; either may hold any number of custom roles besides. What a user
//!   may do is the union of what their roles may do. Administrators may do everything and are
//!   not in the grid.
//! - five permissions per role and category: `see` (the category and its thread list exist),
//!   `read` (thread pages and posts), `start` (new threads), `reply`, `moderate` (hidden
//!   threads, deleted posts, pin/close/hide/move, editing and deleting others' posts).
//! - a category without a setting for a role inherits its parent's; a top-level one the role's
//!   defaults: guests see and read, members also start and reply, moderators also moderate,
//!   custom roles nothing (they grant what is set for them).
//! - implications, applied after the union: `read` needs `see`, `start` and `reply` need
//!   `read`, `moderate` gives all the others; a category whose parent is not seen is not seen.

use std::collections::HashMap;

use deadpool_postgres::GenericClient;
use serde::{Deserialize, Serialize};

use crate::error::AppError;
use crate::models::categories::{CategoryTree, TreeEntry};
use crate::models::users::{Role, User};

/// The category that holds private threads: outside the tree, seen by no role.
pub const PRIVATE_CATEGORY: i64 = 0;

/// One of the five permissions.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Perm {
    /// The category and its thread list exist for the viewer.
    See,
    /// Thread pages and posts.
    Read,
    /// Starting threads.
    Start,
    /// Replying.
    Reply,
    /// Moderating.
    Moderate,
}

impl Perm {
    /// All five, in the grid's order.
    pub const ALL: [Perm; 5] = [
        Perm::See,
        Perm::Read,
        Perm::Start,
        Perm::Reply,
        Perm::Moderate,
    ];

    fn bit(self) -> u8 {
        match self {
            Perm::See => 1,
            Perm::Read => 2,
            Perm::Start => 4,
            Perm::Reply => 8,
            Perm::Moderate => 16,
        }
    }

    /// The name in the API and the admin grid.
    pub fn name(self) -> &'static str {
        match self {
            Perm::See => "see",
            Perm::Read => "read",
            Perm::Start => "start",
            Perm::Reply => "reply",
            Perm::Moderate => "moderate",
        }
    }
}

/// The five flags of one role in one category, as the API and the admin grid write them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Flags {
    /// [`Perm::See`].
    pub see: bool,
    /// [`Perm::Read`].
    pub read: bool,
    /// [`Perm::Start`].
    pub start: bool,
    /// [`Perm::Reply`].
    pub reply: bool,
    /// [`Perm::Moderate`].
    pub moderate: bool,
}

impl Flags {
    fn bits(self) -> u8 {
        [self.see, self.read, self.start, self.reply, self.moderate]
            .into_iter()
            .zip(Perm::ALL)
            .filter(|(on, _)| *on)
            .fold(0, |b, (_, p)| b | p.bit())
    }

    fn from_bits(b: u8) -> Flags {
        Flags {
            see: b & Perm::See.bit() != 0,
            read: b & Perm::Read.bit() != 0,
            start: b & Perm::Start.bit() != 0,
            reply: b & Perm::Reply.bit() != 0,
            moderate: b & Perm::Moderate.bit() != 0,
        }
    }

    /// Whether `p` is on.
    pub fn has(self, p: Perm) -> bool {
        self.bits() & p.bit() != 0
    }
}

const ALL_BITS: u8 = 31;

/// The implications between permissions: `moderate` gives everything, `read` needs `see`,
/// `start` and `reply` need `read`.
fn implied(b: u8) -> u8 {
    let b = if b & Perm::Moderate.bit() != 0 {
        ALL_BITS
    } else {
        b
    };
    let b = if b & Perm::See.bit() == 0 { 0 } else { b };
    if b & Perm::Read.bit() == 0 {
        b & !(Perm::Start.bit() | Perm::Reply.bit())
    } else {
        b
    }
}

/// The built-in roles that sit in the grid, and custom ones.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum RoleKind {
    /// Visitors who are not logged in.
    Guest,
    /// Every logged-in user.
    Member,
    /// Users whose role is moderator.
    Moderator,
    /// Made by an administrator.
    Custom,
}

impl RoleKind {
    /// What a role may do in a top-level category without a setting.
    fn default_bits(self) -> u8 {
        match self {
            RoleKind::Guest => Perm::See.bit() | Perm::Read.bit(),
            RoleKind::Member => ALL_BITS & !Perm::Moderate.bit(),
            RoleKind::Moderator => ALL_BITS,
            RoleKind::Custom => 0,
        }
    }

    fn of_name(name: &str, builtin: bool) -> RoleKind {
        match (builtin, name) {
            (true, "guest") => RoleKind::Guest,
            (true, "member") => RoleKind::Member,
            (true, "moderator") => RoleKind::Moderator,
            _ => RoleKind::Custom,
        }
    }
}

/// A role of the grid.
#[derive(Clone, Debug, Serialize)]
pub struct RoleRow {
    /// Its id.
    pub id: i64,
    /// Its name (`guest`, `member`, `moderator` or an administrator's).
    pub name: String,
    /// Built-in or custom.
    pub kind: RoleKind,
    /// Users who hold it (custom roles; 0 for built-in ones).
    pub users: i64,
}

/// The name of the role that administrators hold: not in the grid (they may do everything).
pub const ADMINISTRATOR: &str = "administrator";

/// Who a viewer is, for permissions: the key of the views the read cache keeps per viewer
/// (there are as many as distinct sets of roles, a handful).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RoleKey {
    base: Option<Role>,
    custom: Vec<i64>,
}

impl RoleKey {
    /// A visitor who is not logged in.
    pub fn guest() -> RoleKey {
        RoleKey {
            base: None,
            custom: Vec::new(),
        }
    }

    /// The key of `user` (None: a guest).
    pub fn of(user: Option<&User>) -> RoleKey {
        match user {
            None => RoleKey::guest(),
            Some(u) if u.is_admin() => RoleKey {
                base: Some(Role::Admin),
                custom: Vec::new(),
            },
            Some(u) => {
                let mut custom = u.custom_roles.clone();
                custom.sort_unstable();
                custom.dedup();
                RoleKey {
                    base: Some(u.role),
                    custom,
                }
            }
        }
    }

    /// Whether this is an administrator's key.
    pub fn is_admin(&self) -> bool {
        self.base == Some(Role::Admin)
    }
}

/// The permission settings: the public category tree, every role, and each set
/// (category, role) row.
#[derive(Clone, Debug)]
pub struct PermissionTable {
    tree: CategoryTree,
    roles: Vec<RoleRow>,
    set: HashMap<(i64, i64), u8>,
}

impl PermissionTable {
    /// Loads the tree, the roles and the settings.
    pub async fn load(client: &impl GenericClient) -> Result<PermissionTable, AppError> {
        let tree = CategoryTree::load(client).await?;
        let stmt = client
            .prepare_cached(
                "SELECT r.id, r.name, r.is_builtin,
                        (SELECT count(*) FROM user_roles ur WHERE ur.role_id = r.id)
                 FROM roles r ORDER BY r.is_builtin DESC, r.id",
            )
            .await?;
        let roles = client
            .query(&stmt, &[])
            .await?
            .iter()
            .map(|r| RoleRow {
                id: r.get(0),
                kind: RoleKind::of_name(r.get(1), r.get(2)),
                name: r.get(1),
                users: r.get(3),
            })
            .collect();
        let stmt = client
            .prepare_cached(
                "SELECT category_id, role_id, can_see, can_read, can_start, can_reply, can_moderate
                 FROM category_permissions",
            )
            .await?;
        let set = client
            .query(&stmt, &[])
            .await?
            .iter()
            .map(|r| {
                let flags = Flags {
                    see: r.get(2),
                    read: r.get(3),
                    start: r.get(4),
                    reply: r.get(5),
                    moderate: r.get(6),
                };
                ((r.get(0), r.get(1)), flags.bits())
            })
            .collect();
        Ok(PermissionTable { tree, roles, set })
    }

    /// The built-in roles over `tree`, without settings (unit tests of the policy).
    #[cfg(test)]
    pub(crate) fn for_tests(tree: CategoryTree) -> PermissionTable {
        let role = |id: i64, name: &str, kind| RoleRow {
            id,
            name: name.into(),
            kind,
            users: 0,
        };
        PermissionTable {
            tree,
            roles: vec![
                role(1, "guest", RoleKind::Guest),
                role(2, "member", RoleKind::Member),
                role(3, "moderator", RoleKind::Moderator),
            ],
            set: HashMap::new(),
        }
    }

    /// Every role, built-in ones first.
    pub fn roles(&self) -> &[RoleRow] {
        &self.roles
    }

    /// The role named `name` (case-insensitive).
    pub fn role(&self, name: &str) -> Option<&RoleRow> {
        self.roles
            .iter()
            .find(|r| r.name.eq_ignore_ascii_case(name))
    }

    /// The public category tree.
    pub fn tree(&self) -> &CategoryTree {
        &self.tree
    }

    /// The setting of `role` in `category`, if set.
    pub fn setting(&self, category: i64, role: i64) -> Option<Flags> {
        self.set
            .get(&(category, role))
            .copied()
            .map(Flags::from_bits)
    }

    /// What `role` alone may do in `category` (its setting, or its parent's, or its
    /// defaults), before implications.
    fn raw(&self, role: &RoleRow, category: i64) -> u8 {
        let mut id = Some(category);
        let mut steps = 0;
        while let Some(c) = id {
            if let Some(b) = self.set.get(&(c, role.id)) {
                return *b;
            }
            id = self.tree.get(c).and_then(|c| c.parent_id);
            steps += 1;
            if steps > 10_000 {
                break;
            }
        }
        role.kind.default_bits()
    }

    /// What `role` alone may do in `category` with the implications applied (the admin grid's
    /// effective column).
    pub fn effective(&self, role: &RoleRow, category: i64) -> Flags {
        Flags::from_bits(implied(self.raw(role, category)))
    }

    /// The roles a key holds.
    fn roles_of(&self, key: &RoleKey) -> Vec<&RoleRow> {
        self.roles
            .iter()
            .filter(|r| match r.kind {
                RoleKind::Guest => key.base.is_none(),
                RoleKind::Member => key.base.is_some(),
                RoleKind::Moderator => key.base == Some(Role::Moderator),
                RoleKind::Custom => key.base.is_some() && key.custom.contains(&r.id),
            })
            .collect()
    }

    /// What the holder of `key` may do, category by category.
    pub fn grants(&self, key: &RoleKey) -> Grants {
        let roles = self.roles_of(key);
        let mut by_category: HashMap<i64, u8> = HashMap::new();
        // Tree order visits parents before their children.
        for e in self.tree.flatten() {
            let c = &e.category;
            let bits = if key.is_admin() {
                ALL_BITS
            } else {
                implied(roles.iter().fold(0, |b, r| b | self.raw(r, c.id)))
            };
            let parent_seen = c.parent_id.is_none_or(|p| {
                by_category
                    .get(&p)
                    .is_some_and(|b| b & Perm::See.bit() != 0)
            });
            by_category.insert(c.id, if parent_seen { bits } else { 0 });
        }
        let tree = self.tree.retain(|c| {
            by_category
                .get(&c)
                .is_some_and(|b| b & Perm::See.bit() != 0)
        });
        let flat = tree.flatten();
        let all_seen = flat.len() == self.tree.len();
        Grants {
            key: key.clone(),
            by_category,
            all_seen,
            seen: flat.iter().map(|e| e.category.id).collect(),
            tree,
            flat,
        }
    }
}

/// What one set of roles may do, category by category, resolved; with the category tree as it
/// sees it (the categories it may not see are not in it, nor in its counts).
#[derive(Clone, Debug)]
pub struct Grants {
    key: RoleKey,
    by_category: HashMap<i64, u8>,
    all_seen: bool,
    seen: Vec<i64>,
    tree: CategoryTree,
    flat: Vec<TreeEntry>,
}

impl Grants {
    /// Grants that allow nothing (a guest before the settings could be read).
    pub fn none() -> Grants {
        Grants {
            key: RoleKey::guest(),
            by_category: HashMap::new(),
            all_seen: false,
            seen: Vec::new(),
            tree: CategoryTree::empty(),
            flat: Vec::new(),
        }
    }

    /// Whose grants these are.
    pub fn key(&self) -> &RoleKey {
        &self.key
    }

    /// Whether `p` is granted in `category` (never in the private category).
    pub fn can(&self, category: i64, p: Perm) -> bool {
        self.by_category
            .get(&category)
            .is_some_and(|b| b & p.bit() != 0)
    }

    /// The five flags in `category`.
    pub fn flags(&self, category: i64) -> Flags {
        Flags::from_bits(self.by_category.get(&category).copied().unwrap_or(0))
    }

    /// Whether every public category is seen (lists then need no category filter).
    pub fn sees_all(&self) -> bool {
        self.all_seen
    }

    /// The categories seen, in tree order.
    pub fn seen(&self) -> &[i64] {
        &self.seen
    }

    /// The categories whose threads may be read.
    pub fn readable(&self) -> Vec<i64> {
        self.seen
            .iter()
            .copied()
            .filter(|c| self.can(*c, Perm::Read))
            .collect()
    }

    /// `ids` without the categories not seen.
    pub fn seen_of(&self, ids: &[i64]) -> Vec<i64> {
        ids.iter()
            .copied()
            .filter(|c| self.can(*c, Perm::See))
            .collect()
    }

    /// Whether every category of `ids` is moderated (an empty list is not).
    pub fn moderates_all(&self, ids: &[i64]) -> bool {
        !ids.is_empty() && ids.iter().all(|c| self.can(*c, Perm::Moderate))
    }

    /// Whether some category is moderated.
    pub fn moderates_any(&self) -> bool {
        self.by_category
            .values()
            .any(|b| b & Perm::Moderate.bit() != 0)
    }

    /// The category tree as these roles see it.
    pub fn tree(&self) -> &CategoryTree {
        &self.tree
    }

    /// [`CategoryTree::flatten`] of [`Grants::tree`].
    pub fn flat(&self) -> &[TreeEntry] {
        &self.flat
    }
}

/// The grants of user `user_id` read from the database now (for decisions about someone
/// other than the viewer: whom a mention or a notification may reach).
pub async fn grants_of_user(
    client: &impl GenericClient,
    user_id: i64,
) -> Result<Option<Grants>, AppError> {
    let Some(row) = client
        .query_opt(
            "SELECT role, ARRAY(SELECT role_id FROM user_roles WHERE user_id = u.id) FROM users u
             WHERE id = $1 AND is_active",
            &[&user_id],
        )
        .await?
    else {
        return Ok(None);
    };
    let role: Role = row.get(0);
    let custom: Vec<i64> = row.get(1);
    let key = if role == Role::Admin {
        RoleKey {
            base: Some(Role::Admin),
            custom: Vec::new(),
        }
    } else {
        RoleKey {
            base: Some(role),
            custom,
        }
    };
    Ok(Some(PermissionTable::load(client).await?.grants(&key)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::categories::Category;

    fn cat(id: i64, parent_id: Option<i64>) -> Category {
        Category {
            id,
            parent_id,
            name: format!("c{id}"),
            description: String::new(),
            position: id as i32,
            is_question: false,
            thread_count: 1,
            post_count: 1,
            last_activity_at: None,
        }
    }

    fn role(id: i64, name: &str, kind: RoleKind) -> RoleRow {
        RoleRow {
            id,
            name: name.into(),
            kind,
            users: 0,
        }
    }

    /// 1 (2 (3)), 4; roles guest 1, member 2, moderator 3, staff 4.
    fn table(set: &[((i64, i64), Flags)]) -> PermissionTable {
        PermissionTable {
            tree: CategoryTree::from_categories(vec![
                cat(1, None),
                cat(2, Some(1)),
                cat(3, Some(2)),
                cat(4, None),
            ]),
            roles: vec![
                role(1, "guest", RoleKind::Guest),
                role(2, "member", RoleKind::Member),
                role(3, "moderator", RoleKind::Moderator),
                role(4, "staff", RoleKind::Custom),
            ],
            set: set.iter().map(|(k, f)| (*k, f.bits())).collect(),
        }
    }

    fn member(custom: Vec<i64>) -> RoleKey {
        RoleKey {
            base: Some(Role::Member),
            custom,
        }
    }

    const NOTHING: Flags = Flags {
        see: false,
        read: false,
        start: false,
        reply: false,
        moderate: false,
    };
    const READ_ONLY: Flags = Flags {
        see: true,
        read: true,
        start: false,
        reply: false,
        moderate: false,
    };

    #[test]
    fn without_settings_the_defaults_keep_the_forum_as_it_was() {
        let t = table(&[]);
        let g = t.grants(&RoleKey::guest());
        assert!(g.can(3, Perm::Read) && !g.can(3, Perm::Reply));
        assert!(g.sees_all());
        let m = t.grants(&member(vec![]));
        assert!(m.can(3, Perm::Start) && !m.can(3, Perm::Moderate));
        let moderator = t.grants(&RoleKey {
            base: Some(Role::Moderator),
            custom: vec![],
        });
        assert!(moderator.moderates_all(&[1, 2, 3, 4]));
        assert!(!g.can(PRIVATE_CATEGORY, Perm::See));
    }

    #[test]
    fn a_child_inherits_its_parents_setting_unless_it_has_its_own() {
        let t = table(&[
            ((1, 2), READ_ONLY),
            ((3, 2), Flags::from_bits(ALL_BITS & !16)),
        ]);
        let m = t.grants(&member(vec![]));
        assert!(m.can(2, Perm::Read) && !m.can(2, Perm::Start), "inherited");
        assert!(m.can(3, Perm::Start), "its own");
        assert!(m.can(4, Perm::Start), "elsewhere: defaults");
    }

    #[test]
    fn a_hidden_parent_hides_its_subtree_and_a_custom_role_adds_to_member() {
        let t = table(&[
            ((1, 2), NOTHING),
            ((3, 2), Flags::from_bits(ALL_BITS & !16)),
            ((1, 4), Flags::from_bits(ALL_BITS & !16)),
        ]);
        let m = t.grants(&member(vec![]));
        assert!(
            !m.can(1, Perm::See) && !m.can(3, Perm::See),
            "under a hidden parent"
        );
        assert_eq!(m.seen(), &[4]);
        assert!(!m.sees_all());
        assert_eq!(m.flat().len(), 1);
        let staff = t.grants(&member(vec![4]));
        assert!(staff.can(3, Perm::Start) && staff.can(1, Perm::Reply));
        // Each role has its own row: hiding a category from members does not hide it from guests.
        assert!(t.grants(&RoleKey::guest()).can(1, Perm::See));
    }

    #[test]
    fn implications_moderate_gives_all_and_read_needs_see() {
        assert_eq!(implied(16), ALL_BITS);
        assert_eq!(implied(2 | 8), 0, "read without see");
        assert_eq!(implied(1 | 4), 1, "start without read");
        let t = table(&[((4, 4), Flags::from_bits(16))]);
        let g = t.grants(&member(vec![4]));
        assert!(g.can(4, Perm::Moderate) && !g.can(1, Perm::Moderate));
    }
}
