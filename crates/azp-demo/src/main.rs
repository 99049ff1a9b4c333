//! The local demo and the start-up benchmark.
//!
//! `azp-demo pipeline <vsix>` unzips the packaged extension, starts a local
//! AWS (moto) and the loopback Azure DevOps OIDC endpoint, and runs a small
//! pipeline through `node launcher.js` exactly as the agent would: AWSCLI
//! `sts get-caller-identity` over OIDC, an AWSShellScript step that uses
//! the AWS CLI, an S3Upload step that uploads a small static site and
//! attaches its summary page, a CloudFormation step that deploys a small
//! stack and prints its events and outputs, and one whose deploy fails (moto
//! cannot fail a resource, so a proxy answers as CloudFormation does) to
//! show the root cause it names. It prints the log as a pipeline page shows it (masked), and
//! stops everything it started.
//!
//! `azp-demo bench <vsix> [runs]` measures, for AWSShellScript with OIDC
//! credentials resolved against the loopback endpoints, the wall time from
//! launching the task (through node and directly) until the user's script
//! starts, the total wall time, and the peak resident memory.
//!
//! `azp-demo bench-s3 <vsix> <s3s-fs> [runs]` is the S3 upload benchmark
//! (see `bench_s3`); `azp-demo bench-cfn <vsix> [runs]` the CloudFormation
//! wait benchmark (see `bench_cfn`).

#![allow(clippy::print_stdout, clippy::print_stderr)] // a terminal program: printing is its job

mod bench_cfn;
mod bench_s3;

use std::path::Path;
use std::process::ExitCode;
use std::time::UNIX_EPOCH;

use azp_task::time::{Clock, Stopwatch, SystemClock};

use aws_clients::names;
use azp_testkit::cloudformation::failed_nested_create;
use azp_testkit::fault_proxy::FaultProxy;
use azp_testkit::fixtures::{self, oidc_server};
use azp_testkit::{Agent, Moto, OidcServer, StepResult, TaskRun};

/// The demo's stack: a topic and a queue, with outputs.
const DEMO_TEMPLATE: &str = r#"AWSTemplateFormatVersion: "2010-09-09"
Description: Demo stack deployed by CloudFormationCreateOrUpdateStack
Parameters:
  Env:
    Type: String
  RetentionDays:
    Type: Number
    Default: 4
Resources:
  Events:
    Type: AWS::SNS::Topic
    Properties:
      TopicName: !Sub "${AWS::StackName}-${Env}-events"
  Work:
    Type: AWS::SQS::Queue
    Properties:
      QueueName: !Sub "${AWS::StackName}-${Env}-work"
Outputs:
  TopicArn:
    Description: where the events go
    Value: !Ref Events
  QueueUrl:
    Value: !Ref Work
"#;

/// How a pipeline page renders the formatting commands.
fn render(line: &str) -> Option<String> {
    for (prefix, shown) in [
        ("##[group]", "▼ "),
        ("##[section]", "» "),
        ("##[command]", "$ "),
        ("##[warning]", "WARNING: "),
        ("##[error]", "ERROR: "),
        ("##[debug]", "DEBUG: "),
    ] {
        if let Some(rest) = line.strip_prefix(prefix) {
            return Some(format!("{shown}{rest}"));
        }
    }
    (line != "##[endgroup]").then(|| line.to_owned())
}

struct Step<'a> {
    task: &'a str,
    display: &'a str,
    inputs: &'a [(&'a str, &'a str)],
    env: &'a [(&'a str, &'a str)],
    /// The result the demo means to show.
    expect: StepResult,
}

fn run_step(extension: &Path, moto: &Moto, oidc: &OidcServer, step: &Step<'_>) -> TaskRun {
    let dir = extension.join("tasks").join(step.task);
    let task = extension_checks::read_json(&dir.join("task.json"));
    let mut agent = fixtures::isolated(&dir)
        .with_test_tools()
        .env(names::AWS_ENDPOINT_URL, &moto.endpoint())
        .service_connection(
            "awsCredentials",
            fixtures::CONNECTION_ID,
            fixtures::oidc_connection_without_keys(),
        )
        .input("regionName", "eu-west-1")
        .oidc(oidc);
    for (k, v) in step.inputs {
        agent = agent.input(k, v);
    }
    for (k, v) in step.env {
        agent = agent.env(k, v);
    }
    let rule = "=".repeat(78);
    println!("\n» Starting: {}\n{rule}", step.display);
    println!(
        "Task         : {}",
        task["friendlyName"].as_str().unwrap_or_default()
    );
    println!(
        "Description  : {}",
        task["description"].as_str().unwrap_or_default()
    );
    println!(
        "Version      : {}.{}.{}",
        task["version"]["Major"], task["version"]["Minor"], task["version"]["Patch"]
    );
    println!("{rule}");
    let started = Stopwatch::start();
    let run = agent.run_process(
        &fixtures::node(),
        &[&dir.join("launcher.js").display().to_string()],
    );
    for line in run.log.iter().filter_map(|l| render(l)) {
        println!("{line}");
    }
    // The agent deletes its temp folder after the job: read the pages now.
    for page in run
        .commands
        .iter()
        .filter(|c| c.name() == "task.uploadsummary")
    {
        println!("» Summary page attached to the run (task.uploadsummary):");
        for line in std::fs::read_to_string(&page.data)
            .unwrap_or_default()
            .lines()
        {
            println!("    {line}");
        }
    }
    println!(
        "» Finishing: {} ({}, {:.1} s)",
        step.display,
        run.result,
        started.elapsed().as_secs_f64()
    );
    run
}

fn pipeline(vsix: &Path) -> ExitCode {
    let unzipped = extension_checks::unzip(vsix);
    let extension = unzipped.path();
    println!("Starting a local AWS (moto) and the Azure DevOps OIDC endpoint emulation...");
    let moto = Moto::start();
    let oidc = oidc_server();
    println!("  AWS endpoint:        {}", moto.endpoint());
    println!(
        "  OIDC token endpoint: {}",
        oidc.oidc_request_uri("build", "<plan>", "<job>")
    );
    println!(
        "  Service connection:  {} ({}), Use OIDC, role {}",
        fixtures::CONNECTION_NAME,
        fixtures::CONNECTION_ID,
        fixtures::ROLE_ARN
    );
    println!(
        "Running {} through node launcher.js, as the agent does.",
        vsix.display()
    );

    let script = "set -e\n\
echo \"Deploying as $(aws sts get-caller-identity --query Arn --output text)\"\n\
aws s3 mb s3://demo-artifacts\n\
echo 'hello from Azure Pipelines' > hello.txt\n\
aws s3 cp hello.txt s3://demo-artifacts/hello.txt\n\
aws s3 ls s3://demo-artifacts\n\
echo \"AWS_ACCESS_KEY_ID in the script's environment: $AWS_ACCESS_KEY_ID\"";
    let site = tempfile::tempdir().expect("temp dir");
    for (path, content) in [
        (
            "index.html",
            "<!doctype html><title>Demo</title><link rel=stylesheet href=css/site.css><h1>Hello</h1>",
        ),
        (
            "about/index.html",
            "<!doctype html><title>About</title><p>Deployed by S3Upload.",
        ),
        ("css/site.css", "h1 { font-family: sans-serif }"),
        ("js/app.js", "console.log('hello');"),
        ("js/app.js.map", "{}"),
        ("img/logo.svg", "<svg xmlns='http://www.w3.org/2000/svg'/>"),
    ] {
        let p = site.path().join(path);
        std::fs::create_dir_all(p.parent().expect("parent")).expect("site folder");
        std::fs::write(p, content).expect("site file");
    }
    let site_dir = site.path().display().to_string();
    let template_path = site.path().join("stack.yaml");
    std::fs::write(&template_path, DEMO_TEMPLATE).expect("template file");
    let template = template_path.display().to_string();
    let failing_proxy = FaultProxy::start(moto.port(), failed_nested_create("demo-failing"));
    let failing_proxy_url = failing_proxy.url();
    let steps = [
        Step {
            task: "AWSCLI",
            display: "AWS CLI: sts",
            inputs: &[
                ("awsCommand", "sts"),
                ("awsSubCommand", "get-caller-identity"),
            ],
            env: &[],
            expect: StepResult::Succeeded,
        },
        Step {
            task: "AWSShellScript",
            display: "AWS Shell Script",
            inputs: &[("scriptType", "inline"), ("inlineScript", script)],
            env: &[],
            expect: StepResult::Succeeded,
        },
        Step {
            task: "S3Upload",
            display: "S3 Upload: demo-site",
            inputs: &[
                ("bucketName", "demo-site"),
                ("createBucket", "true"),
                ("sourceFolder", &site_dir),
                ("globExpressions", "**\n!**/*.map"),
                ("targetFolder", "www"),
                ("cacheControl", "**/*.html=no-cache\n**=max-age=86400"),
                ("skipUnchanged", "true"),
                ("forcePathStyleAddressing", "true"),
            ],
            env: &[],
            expect: StepResult::Succeeded,
        },
        Step {
            task: "CloudFormationCreateOrUpdateStack",
            display: "Create/Update Stack: demo-web",
            inputs: &[
                ("stackName", "demo-web"),
                ("templateFile", &template),
                ("templateParametersSource", "inline"),
                ("templateParameters", "Env: demo\nRetentionDays: 7"),
                ("tags", "team=web\nowner=pipelines"),
                ("captureStackOutputs", "asVariables"),
                ("captureAsSecuredVars", "false"),
                ("outputVariable", "stackArn"),
            ],
            env: &[],
            expect: StepResult::Succeeded,
        },
        Step {
            task: "CloudFormationCreateOrUpdateStack",
            display: "Create/Update Stack: demo-failing (a deploy that fails)",
            inputs: &[
                ("stackName", "demo-failing"),
                ("templateFile", &template),
                ("templateParametersSource", "inline"),
                ("templateParameters", "Env=demo"),
            ],
            // moto completes every stack at once; this proxy answers as
            // CloudFormation does when a nested stack's bucket fails.
            env: &[("AWS_ENDPOINT_URL_CLOUDFORMATION", &failing_proxy_url)],
            expect: StepResult::Failed,
        },
    ];
    let results: Vec<(String, StepResult, StepResult)> = steps
        .iter()
        .map(|s| {
            (
                s.display.to_owned(),
                run_step(extension, &moto, &oidc, s).result,
                s.expect,
            )
        })
        .collect();
    println!("\nSummary");
    for (name, result, expected) in &results {
        let note = if result == expected && *expected != StepResult::Succeeded {
            " (as intended)"
        } else {
            ""
        };
        println!("  {result}: {name}{note}");
    }
    println!("Stopping moto and the OIDC endpoint.");
    drop(moto);
    drop(oidc);
    if results.iter().all(|(_, r, e)| r == e) {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn now_ns() -> u128 {
    SystemClock
        .now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos())
}

/// One measured start of AWSShellScript: (time to script start, total), in ms.
fn one_start(
    extension: &Path,
    moto: &str,
    oidc: &OidcServer,
    via_node: bool,
    mark: &Path,
) -> (f64, f64) {
    let dir = extension.join("tasks/AWSShellScript");
    let agent: Agent = fixtures::isolated(&dir)
        .env(names::AWS_ENDPOINT_URL, moto)
        .service_connection(
            "awsCredentials",
            fixtures::CONNECTION_ID,
            fixtures::oidc_connection_without_keys(),
        )
        .input("regionName", "eu-west-1")
        .input("scriptType", "inline")
        .input("inlineScript", &format!("date +%s%N > {}", mark.display()))
        .oidc(oidc);
    // Unpacked by the launcher's first run (bench runs node first).
    let exe = dir.join("bin/linux-x64/AWSShellScript");
    #[cfg(unix)]
    {
        // A zip does not keep the executable bit; the launcher sets it, the direct run must too.
        use std::os::unix::fs::PermissionsExt;
        let _ = std::fs::set_permissions(&exe, std::fs::Permissions::from_mode(0o755));
    }
    let launched = now_ns();
    let started = Stopwatch::start();
    let run = if via_node {
        agent.run_process(
            &fixtures::node(),
            &[&dir.join("launcher.js").display().to_string()],
        )
    } else {
        agent.run(&exe)
    };
    let total = started.elapsed();
    assert_eq!(run.result, StepResult::Succeeded, "{}", run.log_text());
    let script_start: u128 = std::fs::read_to_string(mark)
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(launched);
    (
        (script_start.saturating_sub(launched)) as f64 / 1e6,
        total.as_secs_f64() * 1e3,
    )
}

fn stats(mut v: Vec<f64>) -> String {
    v.sort_by(f64::total_cmp);
    let at = |q: f64| v[((v.len() - 1) as f64 * q).round() as usize];
    format!(
        "median {:7.1} ms   p90 {:7.1} ms   min {:7.1} ms   max {:7.1} ms",
        at(0.5),
        at(0.9),
        v[0],
        v[v.len() - 1]
    )
}

/// Runs in a child process so that its RUSAGE_CHILDREN covers only the task
/// runs (node, the task binary, bash), not moto.
fn bench_one(extension: &Path, moto: &str, via_node: bool, runs: usize) -> ExitCode {
    let oidc = oidc_server();
    let marks = tempfile::tempdir().expect("temp dir");
    let mark = marks.path().join("script-started");
    // Warm-up: page cache, moto. Through node it also unpacks the binary
    // from bin/binaries.br, which the direct runs (after these) start.
    let _ = one_start(extension, moto, &oidc, via_node, &mark);
    if via_node {
        // Once more from a packed-only folder, now that moto is warm: the
        // first step of a job on a fresh agent.
        let unpacked = extension.join("tasks/AWSShellScript/bin/linux-x64");
        let _ = std::fs::remove_dir_all(&unpacked);
        let (first, _) = one_start(extension, moto, &oidc, via_node, &mark);
        println!(
            "node launcher.js  first launch, unpacking the binary -> script start: {first:7.1} ms"
        );
    }
    let (mut to_script, mut total) = (Vec::new(), Vec::new());
    for _ in 0..runs {
        let (s, t) = one_start(extension, moto, &oidc, via_node, &mark);
        to_script.push(s);
        total.push(t);
    }
    let rss_kib = peak_rss_kib();
    let how = if via_node {
        "node launcher.js"
    } else {
        "binary directly "
    };
    println!("{how}  launch -> script start: {}", stats(to_script));
    println!("{how}  launch -> task exit:    {}", stats(total));
    println!(
        "{how}  peak RSS of any process: {:.1} MiB",
        rss_kib as f64 / 1024.0
    );
    ExitCode::SUCCESS
}

#[cfg(unix)]
pub(crate) fn peak_rss_kib() -> i64 {
    nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_CHILDREN)
        .map_or(0, |u| u.max_rss())
}

#[cfg(not(unix))]
pub(crate) fn peak_rss_kib() -> i64 {
    0
}

fn bench(vsix: &Path, runs: usize) -> ExitCode {
    let unzipped = extension_checks::unzip(vsix);
    let moto = Moto::start();
    println!(
        "Start-up of AWSShellScript with OIDC (token request, AssumeRoleWithWebIdentity and GetCallerIdentity against loopback servers), {runs} runs each:"
    );
    let me = std::env::current_exe().expect("own path");
    let mut ok = true;
    // node first: its first launch unpacks the binary the direct runs use.
    for mode in ["node", "direct"] {
        let status = std::process::Command::new(&me)
            .args([
                "bench-one",
                &unzipped.path().display().to_string(),
                &moto.endpoint(),
                mode,
                &runs.to_string(),
            ])
            .status();
        ok &= status.is_ok_and(|s| s.success());
    }
    drop(moto);
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let usage = || {
        eprintln!(
            "usage: azp-demo pipeline <vsix> | azp-demo bench <vsix> [runs] | azp-demo bench-s3 <vsix> <s3s-fs> [runs] | azp-demo bench-cfn <vsix> [runs]"
        );
        ExitCode::from(2)
    };
    match args
        .iter()
        .map(String::as_str)
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["pipeline", vsix] => pipeline(Path::new(vsix)),
        ["bench", vsix] => bench(Path::new(vsix), 20),
        ["bench", vsix, runs] => runs
            .parse()
            .map_or_else(|_| usage(), |r| bench(Path::new(vsix), r)),
        ["bench-s3", vsix, s3s] => bench_s3::bench(Path::new(vsix), Path::new(s3s), 3),
        ["bench-s3", vsix, s3s, runs] => runs.parse().map_or_else(
            |_| usage(),
            |r| bench_s3::bench(Path::new(vsix), Path::new(s3s), r),
        ),
        ["bench-cfn", vsix] => bench_cfn::bench(Path::new(vsix), 3),
        ["bench-cfn", vsix, runs] => runs
            .parse()
            .map_or_else(|_| usage(), |r| bench_cfn::bench(Path::new(vsix), r)),
        ["s3-measure", tool, rest @ ..] => bench_s3::measure_one(tool, rest),
        ["s3-sequential", rest @ ..] => bench_s3::sequential(rest),
        ["bench-one", dir, moto, mode, runs] => runs.parse().map_or_else(
            |_| usage(),
            |r| bench_one(Path::new(dir), moto, *mode == "node", r),
        ),
        _ => usage(),
    }
}

#[cfg(test)]
mod tests {
    use super::render;

    #[test]
    fn formatting_commands_render_as_on_a_pipeline_page() {
        assert_eq!(
            render("##[group]AWS credentials").as_deref(),
            Some("▼ AWS credentials")
        );
        assert_eq!(render("##[endgroup]"), None);
        assert_eq!(render("##[command]aws sts").as_deref(), Some("$ aws sts"));
        assert_eq!(render("plain").as_deref(), Some("plain"));
    }
}
