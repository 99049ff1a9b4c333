//! The task's own HTTP client (the OIDC token request) honours the agent's
//! proxy together with the job's own `NO_PROXY`: settings are merged, never
//! replaced. A scripted server on loopback plays the proxy.

use azp_task::Env;
use azp_task::proxy::AgentProxy;
use azp_testkit::scripted::{Canned, Match, ScriptedServer};

fn client(pairs: &[(&str, &str)]) -> reqwest::Client {
    let proxy = AgentProxy::from_env(&Env::from_pairs(pairs.iter().copied()))
        .unwrap()
        .unwrap();
    azp_task::http::client(Some(&proxy), None).unwrap()
}

#[tokio::test]
async fn a_host_in_the_jobs_no_proxy_goes_direct() {
    let proxy = ScriptedServer::start();
    proxy.on(Match::path("POST", "/"), Canned::new(200, "{}"), None);
    let url = proxy.url();
    // The name resolves nowhere: through the proxy it answers, direct it
    // fails at DNS.
    let target = "http://oidc.internal.test/org/_apis/oidctoken";

    let through = client(&[("AGENT_PROXYURL", &url)])
        .post(target)
        .send()
        .await
        .unwrap();
    assert_eq!(through.status(), 200);
    assert_eq!(proxy.requests().len(), 1);

    for no_proxy in [
        ("NO_PROXY", ".internal.test"),
        ("no_proxy", "oidc.internal.test"),
    ] {
        let direct = client(&[("AGENT_PROXYURL", &url), no_proxy])
            .post(target)
            .send()
            .await;
        assert!(direct.is_err(), "{no_proxy:?} must send it direct");
        assert_eq!(proxy.requests().len(), 1, "{no_proxy:?}: the proxy saw it");
    }
    // The agent's bypass list applies next to the job's NO_PROXY.
    let direct = client(&[
        ("AGENT_PROXYURL", &url),
        (
            "AGENT_PROXYBYPASSLIST",
            r#"["^http://oidc\\.internal\\.test$"]"#,
        ),
        ("NO_PROXY", "unrelated.example"),
    ])
    .post(target)
    .send()
    .await;
    assert!(direct.is_err());
    assert_eq!(proxy.requests().len(), 1);
}
