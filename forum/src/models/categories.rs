//! The category tree: unlimited depth, loaded whole (it is small) and walked in memory.

use chrono::{DateTime, Utc};
use deadpool_postgres::GenericClient;
use serde::Serialize;

use crate::error::AppError;

/// One category row.
#[derive(Clone, Debug, Serialize)]
pub struct Category {
    /// Its id.
    pub id: i64,
    /// Its parent, or None at the top.
    pub parent_id: Option<i64>,
    /// Its name.
    pub name: String,
    /// Its description.
    pub description: String,
    /// Order among siblings.
    pub position: i32,
    /// Question category: best answers are on.
    pub is_question: bool,
    /// Threads directly in it.
    pub thread_count: i32,
    /// Posts directly in it.
    pub post_count: i32,
    /// Newest post in it.
    pub last_activity_at: Option<DateTime<Utc>>,
}

/// A category with its depth and the counts of its whole subtree.
#[derive(Clone, Debug, Serialize)]
pub struct TreeEntry {
    /// The category.
    #[serde(flatten)]
    pub category: Category,
    /// 0 at the top.
    pub depth: usize,
    /// Threads in it and all its subcategories.
    pub total_threads: i64,
    /// Posts in it and all its subcategories.
    pub total_posts: i64,
    /// Newest activity in the subtree.
    pub total_last_activity_at: Option<DateTime<Utc>>,
}

impl TreeEntry {
    /// Whether `parent` is this category's parent.
    pub fn is_child_of(&self, parent: &TreeEntry) -> bool {
        self.category.parent_id == Some(parent.category.id)
    }
    /// Left padding for indenting the tree in HTML.
    pub fn indent(&self) -> usize {
        12 + self.depth * 24
    }
}

/// Every category, in tree order.
#[derive(Clone, Debug)]
pub struct CategoryTree {
    all: Vec<Category>,
}

impl CategoryTree {
    /// Loads the whole tree.
    pub async fn load(client: &impl GenericClient) -> Result<CategoryTree, AppError> {
        let stmt = client
            .prepare_cached(
                "SELECT id, parent_id, name, description, position, is_question, thread_count,
                        post_count, last_activity_at
                 FROM categories WHERE NOT is_private ORDER BY position, id",
            )
            .await?;
        let all = client
            .query(&stmt, &[])
            .await?
            .iter()
            .map(|r| Category {
                id: r.get(0),
                parent_id: r.get(1),
                name: r.get(2),
                description: r.get(3),
                position: r.get(4),
                is_question: r.get(5),
                thread_count: r.get(6),
                post_count: r.get(7),
                last_activity_at: r.get(8),
            })
            .collect();
        Ok(CategoryTree { all })
    }

    /// A tree of `all` (in display order).
    pub fn from_categories(all: Vec<Category>) -> CategoryTree {
        CategoryTree { all }
    }

    /// A tree without categories.
    pub fn empty() -> CategoryTree {
        CategoryTree { all: Vec::new() }
    }

    /// How many categories it holds.
    pub fn len(&self) -> usize {
        self.all.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.all.is_empty()
    }

    /// The tree of the categories for which `keep` holds (a category whose parent is left
    /// out must be left out too, or it would be lost from the walk).
    pub fn retain(&self, keep: impl Fn(i64) -> bool) -> CategoryTree {
        CategoryTree {
            all: self.all.iter().filter(|c| keep(c.id)).cloned().collect(),
        }
    }

    /// The category `id`.
    pub fn get(&self, id: i64) -> Option<&Category> {
        self.all.iter().find(|c| c.id == id)
    }

    /// `id` and every category below it.
    pub fn subtree_ids(&self, id: i64) -> Vec<i64> {
        let mut out = vec![id];
        let mut i = 0;
        while i < out.len() {
            let parent = out[i];
            out.extend(
                self.all
                    .iter()
                    .filter(|c| c.parent_id == Some(parent))
                    .map(|c| c.id),
            );
            i += 1;
        }
        out
    }

    /// The categories above `id`, from the top down (breadcrumbs).
    pub fn ancestors(&self, id: i64) -> Vec<Category> {
        let mut out = Vec::new();
        let mut cur = self.get(id).and_then(|c| c.parent_id);
        while let Some(pid) = cur {
            // A cycle cannot exist (moves are checked), but never loop forever on bad data.
            if out.len() > self.all.len() {
                break;
            }
            match self.get(pid) {
                Some(c) => {
                    out.push(c.clone());
                    cur = c.parent_id;
                }
                None => break,
            }
        }
        out.reverse();
        out
    }

    fn entry(&self, c: &Category, depth: usize) -> TreeEntry {
        let ids = self.subtree_ids(c.id);
        let members = self.all.iter().filter(|x| ids.contains(&x.id));
        let (mut threads, mut posts, mut last) = (0i64, 0i64, None);
        for m in members {
            threads += i64::from(m.thread_count);
            posts += i64::from(m.post_count);
            last = last.max(m.last_activity_at);
        }
        TreeEntry {
            category: c.clone(),
            depth,
            total_threads: threads,
            total_posts: posts,
            total_last_activity_at: last,
        }
    }

    /// The whole tree in display order (depth first), with subtree counts.
    pub fn flatten(&self) -> Vec<TreeEntry> {
        let mut out = Vec::with_capacity(self.all.len());
        self.walk(None, 0, &mut out);
        out
    }

    fn walk(&self, parent: Option<i64>, depth: usize, out: &mut Vec<TreeEntry>) {
        for c in self.all.iter().filter(|c| c.parent_id == parent) {
            out.push(self.entry(c, depth));
            self.walk(Some(c.id), depth + 1, out);
        }
    }

    /// The direct children of `id` with subtree counts.
    pub fn children(&self, id: i64) -> Vec<TreeEntry> {
        self.all
            .iter()
            .filter(|c| c.parent_id == Some(id))
            .map(|c| self.entry(c, 0))
            .collect()
    }

    /// Whether `id` is `ancestor` or below it.
    pub fn is_within(&self, id: i64, ancestor: i64) -> bool {
        self.subtree_ids(ancestor).contains(&id)
    }
}

/// Creates a category; returns its id.
pub async fn create(
    client: &impl GenericClient,
    parent_id: Option<i64>,
    name: &str,
    description: &str,
    is_question: bool,
) -> Result<i64, AppError> {
    if let Some(pid) = parent_id
        && client
            .query_opt(
                "SELECT 1 FROM categories WHERE id = $1 AND NOT is_private",
                &[&pid],
            )
            .await?
            .is_none()
    {
        return Err(AppError::invalid("the parent category does not exist"));
    }
    let row = client
        .query_one(
            "INSERT INTO categories (parent_id, name, description, is_question, position)
             VALUES ($1, $2, $3, $4, (SELECT coalesce(max(position), 0) + 1 FROM categories))
             RETURNING id",
            &[&parent_id, &name, &description, &is_question],
        )
        .await?;
    Ok(row.get(0))
}

/// Checks a category name: trimmed, 1 to 100 characters.
pub fn parse_name(s: &str) -> Result<String, AppError> {
    super::text::text_field("the name", s, 1, 100)
}

/// Checks a category description: trimmed, at most 1,000 characters.
pub fn parse_description(s: &str) -> Result<String, AppError> {
    super::text::text_field("the description", s, 0, 1000)
}

/// Locks the categories against other changes until `tx` ends (moves are checked against the
/// tree they change) and loads the tree.
pub async fn lock_tree(tx: &impl GenericClient) -> Result<CategoryTree, AppError> {
    tx.execute("LOCK TABLE categories IN SHARE ROW EXCLUSIVE MODE", &[])
        .await?;
    CategoryTree::load(tx).await
}

/// Renames category `id` (`name` from [`parse_name`]).
pub async fn rename(tx: &impl GenericClient, id: i64, name: &str) -> Result<(), AppError> {
    tx.execute(
        "UPDATE categories SET name = $2 WHERE id = $1",
        &[&id, &name],
    )
    .await?;
    Ok(())
}

/// Sets the description of category `id` (from [`parse_description`]).
pub async fn describe(tx: &impl GenericClient, id: i64, description: &str) -> Result<(), AppError> {
    tx.execute(
        "UPDATE categories SET description = $2 WHERE id = $1",
        &[&id, &description],
    )
    .await?;
    Ok(())
}

/// Where a category goes among its siblings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Placement {
    /// One place up.
    Up,
    /// One place down.
    Down,
    /// At this 1-based place.
    At(usize),
}

impl Placement {
    /// The new 0-based index of the category at `index` among `count` siblings; 422 for a
    /// place outside 1..=count.
    pub fn index(self, index: usize, count: usize) -> Result<usize, AppError> {
        Ok(match self {
            Placement::Up => index.saturating_sub(1),
            Placement::Down => (index + 1).min(count - 1),
            Placement::At(n) if (1..=count).contains(&n) => n - 1,
            Placement::At(_) => {
                return Err(AppError::invalid(format!(
                    "the place must be between 1 and {count}"
                )));
            }
        })
    }
}

/// Moves category `id` (in `tree`) to `placement` among its siblings, renumbering them.
pub async fn reorder(
    tx: &impl GenericClient,
    tree: &CategoryTree,
    id: i64,
    placement: Placement,
) -> Result<(), AppError> {
    let c = tree.get(id).ok_or(AppError::NotFound)?;
    // Siblings in display order (the tree sorts by position, then id).
    let mut siblings: Vec<i64> = tx
        .query(
            "SELECT id FROM categories WHERE parent_id IS NOT DISTINCT FROM $1 AND NOT is_private
             ORDER BY position, id",
            &[&c.parent_id],
        )
        .await?
        .iter()
        .map(|r| r.get(0))
        .collect();
    let index = siblings
        .iter()
        .position(|s| *s == id)
        .ok_or(AppError::NotFound)?;
    let to = placement.index(index, siblings.len())?;
    siblings.remove(index);
    siblings.insert(to, id);
    for (i, sibling) in siblings.iter().enumerate() {
        tx.execute(
            "UPDATE categories SET position = $2 WHERE id = $1 AND position <> $2",
            &[sibling, &(i as i32 + 1)],
        )
        .await?;
    }
    Ok(())
}

/// Moves category `id` under `parent` (None: to the top); never under itself.
pub async fn move_to(
    tx: &impl GenericClient,
    tree: &CategoryTree,
    id: i64,
    parent: Option<i64>,
) -> Result<(), AppError> {
    if let Some(p) = parent {
        tree.get(p)
            .ok_or_else(|| AppError::invalid("the new parent does not exist"))?;
        if tree.is_within(p, id) {
            return Err(AppError::invalid("a category cannot move under itself"));
        }
    }
    tx.execute(
        "UPDATE categories SET parent_id = $2 WHERE id = $1",
        &[&id, &parent],
    )
    .await?;
    Ok(())
}

/// Deletes category `id`: its threads move to `target` (outside its subtree), its
/// subcategories to its parent, and its counters are added to the target's.
pub async fn delete(
    tx: &impl GenericClient,
    tree: &CategoryTree,
    id: i64,
    target: i64,
) -> Result<(), AppError> {
    tree.get(target)
        .ok_or_else(|| AppError::invalid("the target category does not exist"))?;
    if tree.is_within(target, id) {
        return Err(AppError::invalid(
            "the threads cannot move into the category being deleted",
        ));
    }
    let c = tree.get(id).cloned().ok_or(AppError::NotFound)?;
    tx.execute(
        "UPDATE threads SET category_id = $2 WHERE category_id = $1",
        &[&id, &target],
    )
    .await?;
    tx.execute(
        "UPDATE categories SET parent_id = $2 WHERE parent_id = $1",
        &[&id, &c.parent_id],
    )
    .await?;
    tx.execute(
        "UPDATE categories SET thread_count = thread_count + $2, post_count = post_count + $3,
                last_activity_at = greatest(last_activity_at, $4) WHERE id = $1",
        &[&target, &c.thread_count, &c.post_count, &c.last_activity_at],
    )
    .await?;
    tx.execute("DELETE FROM categories WHERE id = $1", &[&id])
        .await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cat(id: i64, parent_id: Option<i64>, threads: i32) -> Category {
        Category {
            id,
            parent_id,
            name: format!("c{id}"),
            description: String::new(),
            position: id as i32,
            is_question: false,
            thread_count: threads,
            post_count: threads * 2,
            last_activity_at: None,
        }
    }

    #[test]
    fn a_placement_stays_among_the_siblings() {
        assert_eq!(Placement::Up.index(0, 3).unwrap(), 0);
        assert_eq!(Placement::Up.index(2, 3).unwrap(), 1);
        assert_eq!(Placement::Down.index(2, 3).unwrap(), 2);
        assert_eq!(Placement::At(1).index(2, 3).unwrap(), 0);
        assert!(Placement::At(0).index(0, 3).is_err());
        assert!(Placement::At(4).index(0, 3).is_err());
    }

    #[test]
    fn a_subtree_includes_grandchildren_and_counts_them() {
        let tree = CategoryTree {
            all: vec![
                cat(1, None, 1),
                cat(2, Some(1), 2),
                cat(3, Some(2), 4),
                cat(4, None, 8),
            ],
        };
        assert_eq!(tree.subtree_ids(1), vec![1, 2, 3]);
        let flat = tree.flatten();
        assert_eq!(
            flat.iter()
                .map(|e| (e.category.id, e.depth))
                .collect::<Vec<_>>(),
            vec![(1, 0), (2, 1), (3, 2), (4, 0)]
        );
        assert_eq!(flat[0].total_threads, 7);
        assert_eq!(
            tree.ancestors(3).iter().map(|c| c.id).collect::<Vec<_>>(),
            vec![1, 2]
        );
        assert!(tree.is_within(3, 1));
        assert!(!tree.is_within(4, 1));
    }
}
