//! Laying texts out in embeds and messages within Discord's limits: each text goes into the
//! current embed's description while it fits (4096 per description, 6000 per message), else
//! into a fresh embed of the message (10 at most), else into a new message whose first embed
//! carries the group's title, "(continued)". Order is kept; no text is split.

use crate::discord::{self, Embed};

/// The embeds of each message. `blocks` must each fit an empty embed next to `header`'s or
/// `continuation`'s title (the callers cut them to make sure).
pub(super) fn pack(
    header: &Embed,
    continuation: &Embed,
    blocks: &[String],
    sep: &str,
) -> Vec<Vec<Embed>> {
    let sep_len = discord::len(sep);
    let mut messages: Vec<Vec<Embed>> = Vec::new();
    let mut current: Vec<Embed> = vec![header.clone()];
    let mut total: usize = header.total_len();
    // The current embed's description length, kept as it grows (measuring it again for every
    // block would make a group of many alerts quadratic).
    let mut desc_len = discord::len(&header.description);
    for block in blocks {
        let block_len = discord::len(block);
        let embed = current.last_mut().expect("a message always has an embed");
        let added = if desc_len == 0 {
            block_len
        } else {
            sep_len + block_len
        };
        if desc_len + added <= discord::DESCRIPTION_MAX
            && total + added <= discord::EMBEDS_TOTAL_MAX
        {
            if desc_len > 0 {
                embed.description.push_str(sep);
            }
            embed.description.push_str(block);
            total += added;
            desc_len += added;
            continue;
        }
        let fresh = Embed {
            color: header.color,
            description: block.clone(),
            ..Embed::default()
        };
        if current.len() < discord::EMBEDS_MAX && total + block_len <= discord::EMBEDS_TOTAL_MAX {
            current.push(fresh);
            total += block_len;
        } else {
            messages.push(std::mem::take(&mut current));
            let mut first = continuation.clone();
            first.description = block.clone();
            total = first.total_len();
            current.push(first);
        }
        desc_len = block_len;
    }
    messages.push(current);
    messages
}
