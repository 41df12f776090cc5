//! The spool: every accepted message on disk, fsync'd, before the sender gets its 2xx.
//!
//! One append-only journal (`journal.log`, a JSON record per line) written by one thread:
//! `put` records carry the messages of one notification (a single line, so a crash keeps all or
//! none of them), `done` records mark a message delivered or dead-lettered. Concurrent puts
//! share one `fdatasync` (group commit). A torn last line (a crash mid-write) is dropped on
//! open: it was never acknowledged. The journal is compacted (rewritten with the pending
//! messages only: temp file, fsync, rename, fsync of the directory) on open and when it grows.
//! The pending size is bounded: past `max_bytes` a put fails with [`SpoolError::Full`].
//! An exclusive `flock` on `lock` keeps a second process off the same directory.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use nix::fcntl::{Flock, FlockArg};
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::deadletter::{DeadLetter, DeadLetters};
pub use crate::entry::{Entry, NewEntry};

#[derive(Serialize, Deserialize)]
#[serde(tag = "op", rename_all = "lowercase")]
enum Record {
    Put { entries: Vec<Entry> },
    Done { seq: u64 },
}

/// Why the spool refused or failed.
#[derive(Debug, thiserror::Error)]
pub enum SpoolError {
    /// Past `--storage.max-bytes`: the sender must retry later.
    #[error(
        "spool full: {pending} bytes pending, limit {limit} (deliveries are failing or too slow)"
    )]
    Full {
        /// Bytes pending.
        pending: u64,
        /// The limit.
        limit: u64,
    },
    /// A disk error.
    #[error("spool I/O error: {0}")]
    Io(#[from] std::io::Error),
    /// The writer thread is gone (shutting down).
    #[error("spool closed")]
    Closed,
    /// `dead-letters replay` of a sequence number that is not a dead letter.
    #[error("no dead letter with sequence number {0}")]
    NoSuchDeadLetter(u64),
}

enum Cmd {
    Put(
        Vec<NewEntry>,
        oneshot::Sender<Result<Vec<Entry>, SpoolError>>,
    ),
    Done(u64, oneshot::Sender<Result<(), SpoolError>>),
    DeadLetter(Box<DeadLetter>, oneshot::Sender<Result<(), SpoolError>>),
    Replay(
        Option<Vec<u64>>,
        oneshot::Sender<Result<Vec<(u64, Entry)>, SpoolError>>,
    ),
}

/// The handle the web handlers and delivery workers share.
#[derive(Clone)]
pub struct Spool {
    tx: mpsc::Sender<Cmd>,
    depth: Arc<AtomicU64>,
}

impl std::fmt::Debug for Spool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Spool")
            .field("depth", &self.depth())
            .finish()
    }
}

/// The journal, its pending messages and the lock on its directory, before the writer starts.
pub struct Journal {
    dir: PathBuf,
    file: File,
    size: u64,
    pending: BTreeMap<u64, (String, usize)>,
    pending_bytes: u64,
    next_seq: u64,
    max_bytes: u64,
    dead: DeadLetters,
    recent: Vec<(String, i64)>,
    _lock: Flock<File>,
}

fn line_of(record: &Record) -> String {
    let mut line = serde_json::to_string(record).expect("records serialise");
    line.push('\n');
    line
}

fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

impl Journal {
    /// Opens (creating) the spool in `dir`, takes its lock, replays and compacts the journal.
    pub fn open(dir: &Path, max_bytes: u64) -> anyhow::Result<Journal> {
        std::fs::create_dir_all(dir)
            .map_err(|e| anyhow::anyhow!("cannot create storage path {}: {e}", dir.display()))?;
        let lock_file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(dir.join("lock"))?;
        let lock = Flock::lock(lock_file, FlockArg::LockExclusiveNonblock).map_err(|(_, e)| {
            anyhow::anyhow!(
                "storage path {} is in use by another alert-relay ({e})",
                dir.display()
            )
        })?;
        let path = dir.join("journal.log");
        let mut pending: BTreeMap<u64, (String, usize)> = BTreeMap::new();
        let mut next_seq = 1;
        let mut recent = Vec::new();
        if path.exists() {
            let reader = BufReader::new(File::open(&path)?);
            for (n, line) in reader.split(b'\n').enumerate() {
                let line = line?;
                match serde_json::from_slice::<Record>(&line) {
                    Ok(Record::Put { entries }) => {
                        for e in entries {
                            if recent.last().is_none_or(|(k, _)| k != &e.dedup_key) {
                                recent.push((e.dedup_key.clone(), e.accepted_ms));
                            }
                            next_seq = next_seq.max(e.seq + 1);
                            let text = line_of(&Record::Put {
                                entries: vec![e.clone()],
                            });
                            let len = text.len();
                            pending.insert(e.seq, (text, len));
                        }
                    }
                    Ok(Record::Done { seq }) => {
                        pending.remove(&seq);
                    }
                    // A torn write at the end (never acknowledged) or a damaged line: skip it,
                    // keep everything else.
                    Err(e) => {
                        tracing::warn!(line = n + 1, error = %e, "skipping an unreadable journal line")
                    }
                }
            }
        }
        let dead = DeadLetters::open(dir)?;
        next_seq = next_seq.max(dead.max_seq() + 1);
        // A crash between storing a dead letter and journalling its `done` leaves the entry in
        // both places: the dead letter is the truth, so it is not delivered (or dead-lettered)
        // a second time.
        for letter in dead.list() {
            pending.remove(&letter.entry.seq);
        }
        let pending_bytes = pending.values().map(|(_, l)| *l as u64).sum();
        let file = File::create(dir.join("journal.tmp"))?;
        let mut journal = Journal {
            dir: dir.to_path_buf(),
            file,
            size: 0,
            pending,
            pending_bytes,
            next_seq,
            max_bytes,
            dead,
            recent,
            _lock: lock,
        };
        journal.compact()?;
        Ok(journal)
    }

    /// The messages waiting for delivery, in order.
    pub fn pending(&self) -> Vec<Entry> {
        self.pending
            .values()
            .filter_map(|(line, _)| match serde_json::from_str::<Record>(line) {
                Ok(Record::Put { mut entries }) => entries.pop(),
                _ => None,
            })
            .collect()
    }

    /// Dedup keys of the notifications in the journal when it was opened (delivered or not),
    /// with when they were accepted (Unix ms): a sender's retry after a crash is still a duplicate.
    pub fn recent_keys(&self) -> &[(String, i64)] {
        &self.recent
    }

    /// The dead letters.
    pub fn dead_letters(&mut self) -> &mut DeadLetters {
        &mut self.dead
    }

    fn compact(&mut self) -> std::io::Result<()> {
        let tmp = self.dir.join("journal.tmp");
        let mut out = std::io::BufWriter::new(File::create(&tmp)?);
        for (line, _) in self.pending.values() {
            out.write_all(line.as_bytes())?;
        }
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()?;
        std::fs::rename(&tmp, self.dir.join("journal.log"))?;
        sync_dir(&self.dir)?;
        self.file = OpenOptions::new()
            .append(true)
            .open(self.dir.join("journal.log"))?;
        self.size = self.pending_bytes;
        Ok(())
    }

    /// Puts dead letters back in the spool (all of them, or the sequence numbers given), durably,
    /// then removes them from the dead letters. Returns (old seq, new entry) pairs.
    pub fn replay(&mut self, seqs: Option<&[u64]>) -> Result<Vec<(u64, Entry)>, SpoolError> {
        let chosen: Vec<DeadLetter> = self
            .dead
            .list()
            .iter()
            .filter(|l| seqs.is_none_or(|s| s.contains(&l.entry.seq)))
            .cloned()
            .collect();
        if let Some(missing) = seqs.and_then(|s| {
            s.iter()
                .find(|q| !chosen.iter().any(|l| l.entry.seq == **q))
        }) {
            return Err(SpoolError::NoSuchDeadLetter(*missing));
        }
        if chosen.is_empty() {
            return Ok(Vec::new());
        }
        let entries = chosen
            .iter()
            .map(|l| NewEntry {
                target: l.entry.target.clone(),
                dedup_key: l.entry.dedup_key.clone(),
                message: l.entry.message.clone(),
            })
            .collect();
        let stored = self.put_now(entries)?;
        let old: Vec<u64> = chosen.iter().map(|l| l.entry.seq).collect();
        self.dead.remove(&old)?;
        Ok(old.into_iter().zip(stored).collect())
    }

    /// Appends entries as a new put (used by `dead-letters replay`, offline). Durable on return.
    pub fn put_now(&mut self, entries: Vec<NewEntry>) -> Result<Vec<Entry>, SpoolError> {
        let mut batch = vec![(entries, None)];
        let out = self.write_puts(&mut batch);
        self.file.sync_data()?;
        out.into_iter().next().unwrap_or(Err(SpoolError::Closed))
    }

    #[allow(clippy::type_complexity)]
    fn write_puts(
        &mut self,
        puts: &mut [(Vec<NewEntry>, Option<()>)],
    ) -> Vec<Result<Vec<Entry>, SpoolError>> {
        let now = chrono::Utc::now().timestamp_millis();
        let mut results = Vec::new();
        let mut buf = String::new();
        for (news, _) in puts.iter_mut() {
            let entries: Vec<Entry> = std::mem::take(news)
                .into_iter()
                .enumerate()
                .map(|(i, n)| Entry {
                    seq: self.next_seq + i as u64,
                    target: n.target,
                    accepted_ms: now,
                    dedup_key: n.dedup_key,
                    message: n.message,
                })
                .collect();
            let lines: Vec<String> = entries
                .iter()
                .map(|e| {
                    line_of(&Record::Put {
                        entries: vec![e.clone()],
                    })
                })
                .collect();
            let bytes: u64 = lines.iter().map(|l| l.len() as u64).sum();
            if self.pending_bytes + bytes > self.max_bytes {
                results.push(Err(SpoolError::Full {
                    pending: self.pending_bytes,
                    limit: self.max_bytes,
                }));
                continue;
            }
            self.next_seq += entries.len() as u64;
            buf.push_str(&line_of(&Record::Put {
                entries: entries.clone(),
            }));
            for (e, l) in entries.iter().zip(lines) {
                let len = l.len();
                self.pending.insert(e.seq, (l, len));
            }
            self.pending_bytes += bytes;
            results.push(Ok(entries));
        }
        if let Err(e) = self.file.write_all(buf.as_bytes()) {
            // Nothing of this batch is stored: forget it, and cut a partial line off so the
            // next write does not land on it.
            for entries in results.iter().flatten() {
                for entry in entries {
                    if let Some((_, len)) = self.pending.remove(&entry.seq) {
                        self.pending_bytes -= len as u64;
                    }
                }
            }
            if let Err(cut) = self.file.set_len(self.size) {
                tracing::error!(error = %cut, "cannot cut a partial journal write");
            }
            return results
                .into_iter()
                .map(|_| Err(SpoolError::Io(std::io::Error::new(e.kind(), e.to_string()))))
                .collect();
        }
        self.size += buf.len() as u64;
        results
    }

    fn mark_done(&mut self, seq: u64) -> std::io::Result<()> {
        if let Some((_, len)) = self.pending.remove(&seq) {
            self.pending_bytes -= len as u64;
        }
        let line = line_of(&Record::Done { seq });
        self.file.write_all(line.as_bytes())?;
        self.size += line.len() as u64;
        Ok(())
    }

    /// Starts the writer thread; returns the handle and the pending messages to deliver.
    pub fn start(self) -> (Spool, Vec<Entry>) {
        let pending = self.pending();
        let depth = Arc::new(AtomicU64::new(pending.len() as u64));
        let (tx, rx) = mpsc::channel(4096);
        let d = depth.clone();
        std::thread::Builder::new()
            .name("spool-writer".into())
            .spawn(move || writer(self, rx, d))
            .expect("spawn the spool writer");
        (Spool { tx, depth }, pending)
    }
}

type Reply = (
    oneshot::Sender<Result<(), SpoolError>>,
    Result<(), SpoolError>,
);

fn writer(mut j: Journal, mut rx: mpsc::Receiver<Cmd>, depth: Arc<AtomicU64>) {
    while let Some(first) = rx.blocking_recv() {
        let mut cmds = vec![first];
        while cmds.len() < 1024 {
            match rx.try_recv() {
                Ok(c) => cmds.push(c),
                Err(_) => break,
            }
        }
        let mut puts = Vec::new();
        let mut put_replies = Vec::new();
        let mut other_replies: Vec<Reply> = Vec::new();
        for cmd in cmds {
            match cmd {
                Cmd::Put(entries, reply) => {
                    puts.push((entries, None));
                    put_replies.push(reply);
                }
                Cmd::Done(seq, reply) => {
                    let r = j.mark_done(seq).map_err(SpoolError::from);
                    other_replies.push((reply, r));
                }
                Cmd::Replay(seqs, reply) => {
                    let _ = reply.send(j.replay(seqs.as_deref()));
                }
                Cmd::DeadLetter(dl, reply) => {
                    let seq = dl.entry.seq;
                    let r = j
                        .dead
                        .append(&dl)
                        .map_err(SpoolError::from)
                        .and_then(|_| j.mark_done(seq).map_err(SpoolError::from));
                    other_replies.push((reply, r));
                }
            }
        }
        let mut put_results = j.write_puts(&mut puts);
        if let Err(e) = j.file.sync_data() {
            tracing::error!(error = %e, "spool fsync failed");
            put_results = put_results
                .into_iter()
                .map(|_| Err(SpoolError::Io(std::io::Error::other(e.to_string()))))
                .collect();
            other_replies = other_replies
                .into_iter()
                .map(|(r, _)| (r, Err(SpoolError::Io(std::io::Error::other(e.to_string())))))
                .collect();
        }
        depth.store(j.pending.len() as u64, Ordering::Relaxed);
        for (reply, result) in put_replies.into_iter().zip(put_results) {
            let _ = reply.send(result);
        }
        for (reply, result) in other_replies {
            let _ = reply.send(result);
        }
        if j.size > 8 << 20
            && j.size > 4 * j.pending_bytes
            && let Err(e) = j.compact()
        {
            tracing::error!(error = %e, "spool compaction failed; the journal keeps growing");
        }
    }
}

impl Spool {
    /// Stores `entries` durably (one fsync, shared with concurrent calls) and numbers them.
    pub async fn put(&self, entries: Vec<NewEntry>) -> Result<Vec<Entry>, SpoolError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Cmd::Put(entries, tx))
            .await
            .map_err(|_| SpoolError::Closed)?;
        rx.await.map_err(|_| SpoolError::Closed)?
    }

    /// Marks `seq` delivered, durably.
    pub async fn done(&self, seq: u64) -> Result<(), SpoolError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Cmd::Done(seq, tx))
            .await
            .map_err(|_| SpoolError::Closed)?;
        rx.await.map_err(|_| SpoolError::Closed)?
    }

    /// Moves an entry to the dead letters, durably.
    pub async fn dead_letter(&self, dl: DeadLetter) -> Result<(), SpoolError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Cmd::DeadLetter(Box::new(dl), tx))
            .await
            .map_err(|_| SpoolError::Closed)?;
        rx.await.map_err(|_| SpoolError::Closed)?
    }

    /// Puts dead letters back (all, or `seqs`); the caller queues the returned entries.
    pub async fn replay(&self, seqs: Option<Vec<u64>>) -> Result<Vec<(u64, Entry)>, SpoolError> {
        let (tx, rx) = oneshot::channel();
        self.tx
            .send(Cmd::Replay(seqs, tx))
            .await
            .map_err(|_| SpoolError::Closed)?;
        rx.await.map_err(|_| SpoolError::Closed)?
    }

    /// Whether the writer thread still runs.
    pub fn is_open(&self) -> bool {
        !self.tx.is_closed()
    }

    /// Messages waiting for delivery.
    pub fn depth(&self) -> u64 {
        self.depth.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    // Tests of the spool: durability across reopen, torn tails, the size bound, dead letters.

    use super::*;
    use crate::discord::WebhookMessage;

    fn msg(text: &str) -> NewEntry {
        NewEntry {
            target: "t".into(),
            dedup_key: "k".into(),
            message: WebhookMessage {
                content: text.into(),
                ..Default::default()
            },
        }
    }

    #[tokio::test]
    async fn accepted_entries_survive_a_reopen_until_done() {
        let dir = tempfile::tempdir().unwrap();
        let (spool, pending) = Journal::open(dir.path(), 1 << 20).unwrap().start();
        assert!(pending.is_empty());
        let a = spool.put(vec![msg("a"), msg("b")]).await.unwrap();
        let c = spool.put(vec![msg("c")]).await.unwrap();
        assert_eq!(
            a.iter().chain(&c).map(|e| e.seq).collect::<Vec<_>>(),
            vec![1, 2, 3]
        );
        spool.done(2).await.unwrap();
        assert_eq!(spool.depth(), 2);
        drop(spool);
        // The writer thread releases the lock when its channel closes.
        let journal = loop {
            match Journal::open(dir.path(), 1 << 20) {
                Ok(j) => break j,
                Err(_) => std::thread::sleep(std::time::Duration::from_millis(10)),
            }
        };
        let texts: Vec<String> = journal
            .pending()
            .into_iter()
            .map(|e| e.message.content)
            .collect();
        assert_eq!(texts, vec!["a", "c"]);
        let (spool, _) = journal.start();
        assert_eq!(
            spool.put(vec![msg("d")]).await.unwrap()[0].seq,
            4,
            "numbers continue after a restart"
        );
    }

    #[tokio::test]
    async fn a_torn_last_line_is_dropped_and_the_rest_kept() {
        let dir = tempfile::tempdir().unwrap();
        let (spool, _) = Journal::open(dir.path(), 1 << 20).unwrap().start();
        spool.put(vec![msg("kept")]).await.unwrap();
        drop(spool);
        std::thread::sleep(std::time::Duration::from_millis(50));
        let mut f = OpenOptions::new()
            .append(true)
            .open(dir.path().join("journal.log"))
            .unwrap();
        f.write_all(b"{\"op\":\"put\",\"entries\":[{\"seq\":9,")
            .unwrap();
        let j = Journal::open(dir.path(), 1 << 20).unwrap();
        assert_eq!(j.pending().len(), 1);
        assert_eq!(j.pending()[0].message.content, "kept");
    }

    #[tokio::test]
    async fn a_full_spool_refuses_with_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let (spool, _) = Journal::open(dir.path(), 300).unwrap().start();
        spool.put(vec![msg("small")]).await.unwrap();
        let err = spool.put(vec![msg(&"x".repeat(400))]).await.unwrap_err();
        assert!(err.to_string().contains("spool full"), "{err}");
    }

    #[tokio::test]
    async fn a_second_process_cannot_open_the_same_spool() {
        let dir = tempfile::tempdir().unwrap();
        let _held = Journal::open(dir.path(), 1 << 20).unwrap();
        let err = Journal::open(dir.path(), 1 << 20)
            .err()
            .unwrap()
            .to_string();
        assert!(err.contains("in use"), "{err}");
    }

    #[tokio::test]
    async fn dead_letters_leave_the_queue_and_can_be_listed() {
        let dir = tempfile::tempdir().unwrap();
        let (spool, _) = Journal::open(dir.path(), 1 << 20).unwrap().start();
        let e = spool.put(vec![msg("doomed")]).await.unwrap().remove(0);
        spool
            .dead_letter(DeadLetter {
                entry: e,
                reason: "400".into(),
                attempts: 1,
                failed_at: "now".into(),
            })
            .await
            .unwrap();
        drop(spool);
        std::thread::sleep(std::time::Duration::from_millis(50));
        let mut j = Journal::open(dir.path(), 1 << 20).unwrap();
        assert!(j.pending().is_empty());
        assert_eq!(j.dead_letters().list().len(), 1);
        assert_eq!(j.dead_letters().list()[0].entry.message.content, "doomed");
    }

    #[test]
    fn a_crash_after_the_dead_letter_and_before_its_done_record_delivers_nothing_twice() {
        let dir = tempfile::tempdir().unwrap();
        let mut j = Journal::open(dir.path(), 1 << 20).unwrap();
        let e = j.put_now(vec![msg("doomed")]).unwrap().remove(0);
        // The dead letter is stored; the process dies before `done` reaches the journal.
        j.dead_letters()
            .append(&DeadLetter {
                entry: e,
                reason: "401".into(),
                attempts: 1,
                failed_at: "now".into(),
            })
            .unwrap();
        drop(j);
        let mut j = Journal::open(dir.path(), 1 << 20).unwrap();
        assert!(j.pending().is_empty(), "{:?}", j.pending());
        let replayed = j.replay(None).unwrap();
        assert_eq!(replayed.len(), 1);
        assert_eq!(j.pending().len(), 1, "exactly one copy goes back");
    }

    mod model {
        //! The journal against a model (a map of pending messages) under random puts, dones,
        //! compactions, torn writes and reopenings (a crash at any point between operations).

        use std::collections::BTreeMap;

        use proptest::prelude::*;

        use super::*;

        #[derive(Clone, Debug)]
        enum Op {
            Put(Vec<String>),
            Done(usize),
            Compact,
            TornWrite,
            Reopen,
        }

        fn op() -> impl Strategy<Value = Op> {
            prop_oneof![
                4 => proptest::collection::vec("[a-z🔥\"\\\\\n]{0,20}", 1..4).prop_map(Op::Put),
                3 => any::<usize>().prop_map(Op::Done),
                1 => Just(Op::Compact),
                1 => Just(Op::TornWrite),
                2 => Just(Op::Reopen),
            ]
        }

        proptest! {
            #![proptest_config(ProptestConfig { cases: 32, ..ProptestConfig::default() })]

            #[test]
            fn the_journal_keeps_exactly_the_acknowledged_undelivered_messages(ops in proptest::collection::vec(op(), 1..40)) {
                let dir = tempfile::tempdir().unwrap();
                let mut j = Journal::open(dir.path(), 1 << 20).unwrap();
                let mut model: BTreeMap<u64, String> = BTreeMap::new();
                for op in ops {
                    match op {
                        Op::Put(texts) => {
                            let stored = j.put_now(texts.iter().map(|t| msg(t)).collect()).unwrap();
                            for (e, t) in stored.iter().zip(texts) {
                                prop_assert!(model.keys().all(|k| *k < e.seq), "sequence numbers grow");
                                model.insert(e.seq, t);
                            }
                        }
                        Op::Done(i) => {
                            if !model.is_empty() {
                                let seq = *model.keys().nth(i % model.len()).unwrap();
                                j.mark_done(seq).unwrap();
                                j.file.sync_data().unwrap();
                                model.remove(&seq);
                            }
                        }
                        Op::Compact => j.compact().unwrap(),
                        Op::TornWrite => {
                            j.file.write_all(b"{\"op\":\"put\",\"entries\":[{\"seq\":99999,\"tar").unwrap();
                            drop(j);
                            j = Journal::open(dir.path(), 1 << 20).unwrap();
                        }
                        Op::Reopen => {
                            drop(j);
                            j = Journal::open(dir.path(), 1 << 20).unwrap();
                        }
                    }
                    let got: BTreeMap<u64, String> = j.pending().into_iter().map(|e| (e.seq, e.message.content)).collect();
                    prop_assert_eq!(&got, &model);
                }
            }
        }
    }
}
