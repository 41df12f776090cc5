//! Query rows to metric families: each collector lists its columns, this turns them into
//! families.

use crate::session::Row;
use crate::snapshot::{Family, Kind, LabelSet};

/// A column of a query turned into a metric family.
pub(crate) struct Column {
    /// The result column.
    pub column: &'static str,
    /// The metric name.
    pub metric: &'static str,
    /// The metric type.
    pub kind: Kind,
    /// HELP text.
    pub help: &'static str,
}

/// Shorthand for a [`Column`].
pub(crate) const fn col(
    column: &'static str,
    metric: &'static str,
    kind: Kind,
    help: &'static str,
) -> Column {
    Column {
        column,
        metric,
        kind,
        help,
    }
}

/// The label set of each row: the `labels` columns (NULL or absent ones as empty strings),
/// rendered once per row and shared by every family of that row.
pub(crate) fn row_labels(rows: &[Row], labels: &[&str]) -> Vec<LabelSet> {
    let Some(first) = rows.first() else {
        return Vec::new();
    };
    let at: Vec<Option<usize>> = labels.iter().map(|l| first.index(l)).collect();
    rows.iter()
        .map(|row| {
            LabelSet::new(
                labels,
                at.iter()
                    .map(|i| i.and_then(|i| row.text_at(i)).unwrap_or("")),
            )
        })
        .collect()
}

/// One family per column, one sample per row, labelled by the `labels` columns (NULL labels
/// become empty strings; NULL values are left out, as no number would be true).
pub(crate) fn families_from_rows(rows: &[Row], labels: &[&str], columns: &[Column]) -> Vec<Family> {
    let sets = row_labels(rows, labels);
    columns
        .iter()
        .map(|c| {
            let mut family = Family::new(c.metric, c.help, c.kind);
            if let Some(at) = rows.first().and_then(|first| first.index(c.column)) {
                family.reserve(rows.len());
                for (row, set) in rows.iter().zip(&sets) {
                    if let Some(v) = row.num_at(at) {
                        family.push(set.clone(), v);
                    }
                }
            }
            family
        })
        .collect()
}
