//! The compact form of a group whose full rendering would pass its message cap: one line per
//! alert, so that every alert is named.
//!
//! A line is the alert's emoji, its name when the group does not share one, the labels that set
//! it apart from the rest of the group (in a code span) and its summary (else the first line of
//! its description). Descriptions are what the compact form drops first; if the lines still do
//! not fit, summaries are shortened, evenly, as little as needed; and only if even the bare lines
//! (no summary) do not fit, the alerts that fit are named, followed by the exact count of the
//! rest and a link to the group in Alertmanager.

use super::context::{alert_emoji, alertname, label_list, shared_labels};
use super::layout::pack;
use crate::discord::{self, Embed};
use crate::markdown;
use crate::payload::{Alert, Notification};

/// A summary is cut to this even when everything fits: a line, not a paragraph.
const SUMMARY_MAX: usize = 300;
/// An alert name in a line.
const NAME_MAX: usize = 100;
/// The distinguishing labels of a line.
const LABELS_MAX: usize = 200;

/// One alert's line, before its summary is cut to a budget.
#[derive(Debug)]
pub(super) struct Line {
    head: String,
    summary: String,
}

impl Line {
    fn render(&self, summary_max: usize) -> String {
        if summary_max == 0 || self.summary.is_empty() {
            return self.head.clone();
        }
        format!(
            "{} · {}",
            self.head,
            markdown::inline(&discord::truncate(&self.summary, summary_max))
        )
    }
}

/// The lines of `alerts` (alerts of `n`, in the order to show them).
pub(super) fn lines(n: &Notification, alerts: &[&Alert]) -> Vec<Line> {
    let shared = shared_labels(n);
    let name_shared = shared.contains_key("alertname");
    alerts
        .iter()
        .map(|a| {
            let mut head = alert_emoji(a).to_string();
            if !name_shared {
                head.push_str(" **");
                head.push_str(&markdown::inline(&discord::truncate(
                    &alertname(a),
                    NAME_MAX,
                )));
                head.push_str("**");
            }
            let labels = label_list(a.labels.iter(), &|k| {
                k == "alertname" || shared.contains_key(k)
            });
            if !labels.is_empty() {
                head.push(' ');
                head.push_str(&markdown::code(&discord::truncate(&labels, LABELS_MAX)));
            }
            let summary = a
                .annotations
                .get("summary")
                .filter(|s| !s.trim().is_empty())
                .or(a.annotations.get("description"))
                .or(a.value_string.as_ref())
                .map(|s| s.trim().lines().next().unwrap_or("").to_string())
                .unwrap_or_default();
            Line { head, summary }
        })
        .collect()
}

/// The messages of the compact form: at most `max_messages` (at least 1), `tail` after the
/// lines, `overflow(rest)` after the named alerts when `rest` could not be named.
pub(super) fn fit(
    header: &Embed,
    continuation: &Embed,
    lines: &[Line],
    max_messages: usize,
    tail: &[String],
    overflow: &dyn Fn(usize) -> String,
) -> Vec<Vec<Embed>> {
    let blocks = |summary_max: usize, named: usize| -> Vec<String> {
        let mut out: Vec<String> = lines[..named]
            .iter()
            .map(|l| l.render(summary_max))
            .collect();
        if named < lines.len() {
            out.push(overflow(lines.len() - named));
        }
        out.extend(tail.iter().cloned());
        out
    };
    let layout = |b: &[String]| pack(header, continuation, b, "\n");
    // The packed messages when they are within the cap: the search keeps the last layout that
    // fitted instead of packing it again.
    let fitting = |b: Vec<String>| {
        let messages = layout(&b);
        (messages.len() <= max_messages).then_some(messages)
    };
    let all = lines.len();

    if let Some(messages) = fitting(blocks(SUMMARY_MAX, all)) {
        return messages;
    }
    if let Some(mut best) = fitting(blocks(0, all)) {
        // The longest summaries that fit: `lo` fits, `hi` does not.
        let (mut lo, mut hi) = (0, SUMMARY_MAX);
        while hi - lo > 1 {
            let mid = (lo + hi) / 2;
            match fitting(blocks(mid, all)) {
                Some(messages) => (lo, best) = (mid, messages),
                None => hi = mid,
            }
        }
        return best;
    }
    // As many bare lines as fit: `lo` fits (the header and the count always do), `hi` does not.
    let (mut lo, mut hi, mut best) = (0, all, None);
    while hi - lo > 1 {
        let mid = (lo + hi) / 2;
        match fitting(blocks(0, mid)) {
            Some(messages) => (lo, best) = (mid, Some(messages)),
            None => hi = mid,
        }
    }
    best.unwrap_or_else(|| layout(&blocks(0, 0)))
}
