//! Tests of the spool: durability across reopen, torn tails, the size bound, dead letters.

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
