//! Query rows to metric families: each collector lists its columns, this turns them into
//! families.

use crate::session::Row;
use crate::snapshot::{Family, Kind};

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

/// One family per column, one sample per row, labelled by the `labels` columns (NULL labels
/// become empty strings; NULL values are left out, as no number would be true).
pub(crate) fn families_from_rows(rows: &[Row], labels: &[&str], columns: &[Column]) -> Vec<Family> {
    columns
        .iter()
        .map(|c| {
            let mut family = Family::new(c.metric, c.help, c.kind, labels);
            for row in rows {
                if let Some(v) = row.num(c.column) {
                    let values = labels
                        .iter()
                        .map(|l| row.text(l).unwrap_or("").to_string())
                        .collect();
                    family.push(values, v);
                }
            }
            family
        })
        .collect()
}
