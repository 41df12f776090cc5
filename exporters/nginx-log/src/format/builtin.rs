//! The built-in formats: `combined` (nginx's default, the most common format there is) and
//! `forum` (this project's, `monitoring/nginx/log_format.conf`), and the walk written out for
//! them: the same steps as the generic walk over the same [`Scan`], with the literals as
//! constants. A new built-in format is a constant here and a name in [`named`]; it gets a walk
//! of its own only when the benchmark says the generic one is not enough.

use crate::bytes::scan::{Classes, Scan};
use crate::record::Record;

/// nginx's predefined `combined` format.
pub const COMBINED: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent""#;

/// This project's `forum` format (`monitoring/nginx/log_format.conf`): `combined` plus request
/// length, request time, upstream time (quoted: several upstreams give `0.005, 0.019`) and host.
pub const FORUM: &str = r#"$remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "$http_user_agent" $request_length $request_time "$upstream_response_time" $host"#;

/// Returns the format string of a built-in format name, if `name` is one.
pub fn named(name: &str) -> Option<&'static str> {
    match name {
        "combined" => Some(COMBINED),
        "forum" => Some(FORUM),
        _ => None,
    }
}

/// The built-in formats with a walk of their own: `combined` (nginx's default, the most common
/// format there is) and `forum`, which is `combined` plus four fields.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Builtin {
    Combined,
    Forum,
}

/// `line[at..]` starts with `lit` (a literal of one to three bytes).
#[inline(always)]
fn lit_at(line: &[u8], at: usize, lit: &[u8]) -> bool {
    line.get(at..at + lit.len()) == Some(lit)
}

/// The walk of `combined` and `forum`, written out: the same steps as the generic walk over
/// the same [`Scan`] (classes: space, `]`, `"`, in the order `compile` assigns them), with the
/// literals as constants.
#[inline(always)]
pub fn parse_builtin<'a>(
    builtin: Builtin,
    classes: &Classes<3>,
    line: &'a [u8],
) -> Option<Record<'a>> {
    const SPACE: usize = 0;
    const BRACKET: usize = 1;
    const QUOTE: usize = 2;
    let mut scan = Scan::new(classes, line);
    // $remote_addr - $remote_user [$time_local] "$request" $status $body_bytes_sent "$http_referer" "
    let addr_end = scan.find(SPACE, 0, |at| lit_at(line, at, b" - "))?;
    let user_end = scan.find(SPACE, addr_end + 3, |at| lit_at(line, at, b" ["))?;
    let time_end = scan.find(BRACKET, user_end + 2, |at| lit_at(line, at, b"] \""))?;
    let request = time_end + 3;
    let request_end = scan.find(QUOTE, request, |at| lit_at(line, at, b"\" "))?;
    let status = request_end + 2;
    let status_end = scan.find(SPACE, status, |_| true)?;
    let bytes = status_end + 1;
    let bytes_end = scan.find(SPACE, bytes, |at| lit_at(line, at, b" \""))?;
    let referer_end = scan.find(QUOTE, bytes_end + 2, |at| lit_at(line, at, b"\" \""))?;
    let agent = referer_end + 3;
    let mut record = Record {
        request: line.get(request..request_end)?,
        status: line.get(status..status_end)?,
        body_bytes: line.get(bytes..bytes_end)?,
        source: line.get(..addr_end)?,
        ..Record::default()
    };
    match builtin {
        // $http_user_agent"  (to the end of the line)
        Builtin::Combined => {
            if line.len() < agent + 1 || line.last() != Some(&b'"') {
                return None;
            }
        }
        // $http_user_agent" $request_length $request_time "$upstream_response_time" $host
        Builtin::Forum => {
            let agent_end = scan.find(QUOTE, agent, |at| lit_at(line, at, b"\" "))?;
            let length = agent_end + 2;
            let length_end = scan.find(SPACE, length, |_| true)?;
            let time = length_end + 1;
            let time_end = scan.find(SPACE, time, |at| lit_at(line, at, b" \""))?;
            let upstream = time_end + 2;
            let upstream_end = scan.find(QUOTE, upstream, |at| lit_at(line, at, b"\" "))?;
            record.request_length = line.get(length..length_end)?;
            record.request_time = line.get(time..time_end)?;
            record.upstream_time = line.get(upstream..upstream_end)?;
            record.host = line.get(upstream_end + 2..)?;
        }
    }
    Some(record)
}
