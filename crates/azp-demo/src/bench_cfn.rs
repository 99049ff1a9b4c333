//! The CloudFormation wait benchmark (`scripts/bench-cfn`): how long after
//! a stack settles the task ends, and how many API calls it makes, with the
//! AWS Toolkit's 30-second polling as the comparison.
//!
//! CloudFormationCreateOrUpdateStack from the packaged VSIX (through
//! `node launcher.js`) creates a stack on moto through a fault proxy that
//! reports it `CREATE_IN_PROGRESS` for a set time, then lets moto's
//! `CREATE_COMPLETE` through. The figures are the seconds from that switch
//! to the task's exit, and the calls by action the proxy counted. The
//! toolkit's figures follow from its waiter (`stackCreateComplete`: one
//! `DescribeStacks` at once, then one every 30 s; toolkit-compat.md §8.4):
//! it notices the final status at the next multiple of 30 s.

use std::collections::BTreeMap;
use std::path::Path;
use std::process::ExitCode;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use aws_clients::names;
use azp_task::time::Stopwatch;
use azp_testkit::cloudformation::status_rewrite;
use azp_testkit::fault_proxy::{FaultProxy, Rule};
use azp_testkit::fixtures::{self, oidc_server};
use azp_testkit::{Moto, StepResult};

const TEMPLATE: &str =
    "Resources:\n  Topic:\n    Type: AWS::SNS::Topic\nOutputs:\n  Arn:\n    Value: !Ref Topic\n";

/// The toolkit's waiter: calls made and seconds from the final status to
/// noticing it, for a stack that settles `busy` seconds after the call.
fn toolkit(busy: f64) -> (u64, f64) {
    let polls = (busy / 30.0).ceil();
    (polls as u64 + 1, polls * 30.0 - busy)
}

/// One run: the stack is busy for `busy`; gives (latency s, calls by action).
fn one(
    extension: &Path,
    moto: &Moto,
    busy: Duration,
    n: usize,
) -> Option<(f64, BTreeMap<String, usize>)> {
    let oidc = oidc_server();
    let dir = extension
        .join("tasks")
        .join("CloudFormationCreateOrUpdateStack");
    let work = tempfile::tempdir().ok()?;
    let template = work.path().join("stack.yaml");
    std::fs::write(&template, TEMPLATE).ok()?;
    let proxy = Arc::new(FaultProxy::start(
        moto.port(),
        vec![Rule::action(
            "DescribeStacks",
            status_rewrite("CREATE_IN_PROGRESS"),
            usize::MAX,
        )],
    ));
    let agent = fixtures::isolated(&dir)
        .with_test_tools()
        .env(names::AWS_ENDPOINT_URL, &moto.endpoint())
        .env("AWS_ENDPOINT_URL_CLOUDFORMATION", &proxy.url())
        .service_connection(
            "awsCredentials",
            fixtures::CONNECTION_ID,
            fixtures::oidc_connection_without_keys(),
        )
        .input("regionName", "eu-west-1")
        .input(
            "stackName",
            &format!("bench-{n}-{:06x}", fastrand::u32(..0xff_ffff)),
        )
        .input("templateFile", &template.display().to_string())
        .oidc(&oidc);
    let clock = Stopwatch::start();
    let switched = Arc::new(Mutex::new(None::<Duration>));
    let (p, s) = (proxy.clone(), switched.clone());
    let switch = std::thread::spawn(move || {
        // The stack becomes busy when CreateStack goes through.
        while !p.actions().iter().any(|a| a == "CreateStack") {
            std::thread::sleep(Duration::from_millis(5));
        }
        std::thread::sleep(busy);
        p.set_rules(Vec::new());
        *s.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(clock.elapsed());
    });
    let run = agent.run_process(
        &fixtures::node(),
        &[&dir.join("launcher.js").display().to_string()],
    );
    let exited = clock.elapsed();
    let _ = switch.join();
    if run.result != StepResult::Succeeded {
        eprintln!("run failed:\n{}", run.log_text());
        return None;
    }
    let at = (*switched
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner))?;
    let mut calls = BTreeMap::new();
    for a in proxy.actions() {
        *calls.entry(a).or_insert(0) += 1;
    }
    Some(((exited - at).as_secs_f64(), calls))
}

/// Run the benchmark for stacks busy 12, 47 and 103 s (off the 5-second
/// grid of the polling, so that no case ends exactly on a poll), `runs`
/// times each.
pub(crate) fn bench(vsix: &Path, runs: usize) -> ExitCode {
    let unzipped = extension_checks::unzip(vsix);
    let moto = Moto::start();
    println!(
        "CloudFormation wait: seconds from the stack's final status to the task's exit, and API calls"
    );
    println!("(median of {runs} runs; the toolkit's figures follow from its 30-second waiter)\n");
    println!(
        "| Stack busy for | This task: exit after final status | Calls (DescribeStacks / DescribeStackEvents / all) | Toolkit: exit after final status | Toolkit calls (DescribeStacks) |"
    );
    println!("|---|---|---|---|---|");
    let mut n = 0;
    for busy in [12u64, 47, 103] {
        let mut latencies = Vec::new();
        let mut last_calls = BTreeMap::new();
        for _ in 0..runs {
            n += 1;
            match one(unzipped.path(), &moto, Duration::from_secs(busy), n) {
                Some((l, calls)) => {
                    latencies.push(l);
                    last_calls = calls;
                }
                None => return ExitCode::FAILURE,
            }
        }
        latencies.sort_by(f64::total_cmp);
        let median = latencies[latencies.len() / 2];
        let (tk_calls, tk_latency) = toolkit(busy as f64);
        let get = |k: &str| last_calls.get(k).copied().unwrap_or(0);
        println!(
            "| {busy} s | {median:.2} s | {} / {} / {} | {tk_latency:.0} s | {tk_calls} |",
            get("DescribeStacks"),
            get("DescribeStackEvents"),
            last_calls.values().sum::<usize>()
        );
    }
    println!(
        "\nAll calls of the last run of each size went through the proxy; the toolkit's count is its waiter's only."
    );
    ExitCode::SUCCESS
}
