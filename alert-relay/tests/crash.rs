//! Kill -9 the relay while Discord answers 429 and 500; restart it on the same spool: every
//! accepted notification arrives, once, in order.

mod common;

use common::{Relay, group, titles, until};
use testkit::discord::{DiscordDouble, Scripted};

#[tokio::test]
async fn accepted_notifications_survive_sigkill_and_arrive_exactly_once() {
    let double = DiscordDouble::start().await;
    let answers: Vec<Scripted> = (0..24)
        .map(|i| {
            if i % 3 == 0 {
                Scripted::RateLimited {
                    retry_after: 0.15,
                    global: i % 2 == 0,
                }
            } else {
                Scripted::ServerError
            }
        })
        .collect();
    double.script(answers);
    let dir = tempfile::tempdir().unwrap();
    let storage = dir.path().join("spool");
    let args = [
        "--discord.webhook-url",
        &double.webhook_url(),
        "--discord.api-url",
        &double.api_url(),
        "--delivery.backoff-base",
        "50ms",
        "--delivery.backoff-max",
        "200ms",
        "--delivery.max-attempts",
        "1000",
    ];
    let mut relay = Relay::start(&storage, &args).await;
    let mut expected = Vec::new();
    for i in 0..8 {
        let name = format!("Crash{i}");
        assert_eq!(
            relay
                .post("/alertmanager", &group(&name, "firing", &[("a", "firing")]))
                .await,
            200
        );
        expected.push(format!("[FIRING:1] {name}"));
    }
    // A group that fires and resolves while Discord refuses everything.
    assert_eq!(
        relay
            .post(
                "/alertmanager",
                &group("Flap", "firing", &[("a", "firing")])
            )
            .await,
        200
    );
    assert_eq!(
        relay
            .post(
                "/alertmanager",
                &group("Flap", "resolved", &[("a", "resolved")])
            )
            .await,
        200
    );
    expected.push("[FIRING:1] Flap".into());
    expected.push("[RESOLVED] Flap".into());

    until(10, "a few refused attempts", || double.seen().len() >= 5).await;
    assert!(double.messages().is_empty(), "nothing was delivered yet");
    relay.kill9();
    let refused_before = double.seen().len();

    let relay = Relay::start(&storage, &args).await;
    until(60, "every accepted notification", || {
        double.messages().len() >= expected.len()
    })
    .await;
    tokio::time::sleep(std::time::Duration::from_millis(1500)).await;
    let got = titles(&double.messages());
    assert_eq!(
        got.len(),
        expected.len(),
        "delivered exactly once each: {got:#?}"
    );
    for (g, e) in got.iter().zip(&expected) {
        assert!(
            g.contains(e.as_str()),
            "order: expected {e:?}, got {g:?} in {got:#?}"
        );
    }
    assert!(
        double.seen().len() > refused_before,
        "the restarted relay went on retrying"
    );
    let depth = relay.metrics().await;
    assert!(depth.contains("alert_relay_spool_depth 0"), "{depth}");

    // A retry by Alertmanager of a notification accepted before the crash is a duplicate.
    assert_eq!(
        relay
            .post(
                "/alertmanager",
                &group("Crash0", "firing", &[("a", "firing")])
            )
            .await,
        200
    );
    // Past the double's 2 s rate-limit window, a wrongly accepted duplicate would have arrived.
    tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
    assert_eq!(
        double.messages().len(),
        expected.len(),
        "{:#?}",
        titles(&double.messages())
    );
}
