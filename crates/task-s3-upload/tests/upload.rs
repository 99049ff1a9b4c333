//! S3Upload run by the agent harness against moto, over the loopback OIDC
//! endpoint: every input, the file-matching rules, keys, sync, delete, dry
//! run, encryption, and bad inputs that must upload nothing.

use std::path::Path;

use azp_testkit::fault_proxy::{Fault, FaultProxy, Rule};
use azp_testkit::fixtures::{self, oidc_server as oidc};
use azp_testkit::s3::Bucket;
use azp_testkit::{Agent, Moto, OidcServer, StepResult, TaskRun};

const TASK: &str = env!("CARGO_BIN_EXE_S3Upload");
const SSE_C_HEX: &str = "0f1e2d3c4b5a69788796a5b4c3d2e1f00f1e2d3c4b5a69788796a5b4c3d2e1f0";

fn step(oidc: &OidcServer, bucket: &Bucket, source: &Path) -> Agent {
    fixtures::oidc_step(fixtures::task_dir("S3Upload"), oidc)
        .input("bucketName", &bucket.name)
        .input("sourceFolder", &source.display().to_string())
        .input("forcePathStyleAddressing", "true")
}

fn big(len: usize, seed: u8) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8 ^ seed).collect()
}

/// A step whose S3 requests go through `proxy` (STS stays on moto).
fn through(agent: Agent, proxy: &FaultProxy) -> Agent {
    agent.env("AWS_ENDPOINT_URL_S3", &proxy.url())
}

fn setsecrets(run: &TaskRun) -> Vec<String> {
    run.commands
        .iter()
        .filter(|c| c.name() == "task.setsecret")
        .map(|c| c.data.clone())
        .collect()
}

/// The run's error issues contain `needle`.
#[track_caller]
fn assert_error(run: &TaskRun, needle: &str) {
    let errors = error_text(run);
    assert!(
        errors.contains(needle),
        "expected {needle:?} in the errors:\n{errors}"
    );
}

fn error_text(run: &TaskRun) -> String {
    run.errors().join("\n")
}

fn write(root: &Path, files: &[(&str, &str)]) {
    for (rel, content) in files {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, content).unwrap();
    }
}

fn site() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        &[
            ("index.html", "<html>home</html>"),
            ("about/index.html", "<html>about</html>"),
            ("css/site.css", "body{}"),
            ("js/app.js", "console.log(1)"),
            ("js/app.js.map", "{}"),
            (".well-known/security.txt", "Contact: x"),
            ("img/logo.svg", "<svg/>"),
        ],
    );
    dir
}

/// An OIDC endpoint and a new bucket on moto.
fn fresh() -> (OidcServer, Bucket) {
    (oidc(), Bucket::create(&Moto::shared().endpoint()))
}

/// The run's log contains `needle`.
#[track_caller]
fn assert_logged(run: &TaskRun, needle: &str) {
    let log = run.log_text();
    assert!(
        log.contains(needle),
        "expected {needle:?} in the log:\n{log}"
    );
}

fn outputs(run: &TaskRun) -> Vec<(String, String)> {
    run.commands
        .iter()
        .filter(|c| c.name() == "task.setvariable" && c.property("isoutput") == Some("true"))
        .map(|c| {
            (
                c.property("variable").unwrap_or_default().to_owned(),
                c.data.clone(),
            )
        })
        .collect()
}

fn output(run: &TaskRun, name: &str) -> String {
    outputs(run)
        .into_iter()
        .find(|(n, _)| n == name)
        .map(|(_, v)| v)
        .unwrap_or_else(|| panic!("no output {name}: {}", run.log_text()))
}

#[test]
fn a_site_goes_up_with_types_keys_and_a_summary() {
    let (oidc, bucket) = fresh();
    let src = site();
    // The agent cleans its temp folder (and the summary page) after the job.
    let agent = step(&oidc, &bucket, src.path())
        .input("targetFolder", "/www//v1/")
        .input("globExpressions", "**\n!**/*.map\n# comments are skipped");
    let run = agent.run(TASK);
    run.expect(StepResult::Succeeded);
    assert_eq!(
        bucket.keys(),
        [
            "www/v1/.well-known/security.txt",
            "www/v1/about/index.html",
            "www/v1/css/site.css",
            "www/v1/img/logo.svg",
            "www/v1/index.html",
            "www/v1/js/app.js",
        ]
    );
    for (key, content_type) in [
        ("www/v1/index.html", "text/html"),
        ("www/v1/css/site.css", "text/css"),
        ("www/v1/img/logo.svg", "image/svg+xml"),
        ("www/v1/js/app.js", "text/javascript"),
        ("www/v1/.well-known/security.txt", "text/plain"),
    ] {
        let head = bucket.head(key).unwrap();
        assert_eq!(head.content_type.as_deref(), Some(content_type), "{key}");
    }
    assert_eq!(bucket.get("www/v1/about/index.html"), b"<html>about</html>");
    assert_eq!(output(&run, "filesUploaded"), "6");
    assert_eq!(output(&run, "filesSkipped"), "0");
    assert_eq!(
        output(&run, "bytesUploaded"),
        (17 + 18 + 6 + 14 + 10 + 6).to_string()
    );
    let summary = run
        .commands
        .iter()
        .find(|c| c.name() == "task.uploadsummary")
        .expect("a summary page");
    let page = std::fs::read_to_string(&summary.data).unwrap();
    assert!(page.contains("| Uploaded | 6 |"), "{page}");
    assert!(
        run.log_text()
            .contains("Uploaded about/index.html to s3://"),
        "{}",
        run.log_text()
    );
    fixtures::assert_no_leaks(&run, &oidc);
}

#[test]
fn every_object_setting_and_the_wire_log() {
    let (oidc, bucket) = fresh();
    let src = site();
    let run = step(&oidc, &bucket, src.path())
        .input("globExpressions", "**/*.html\ncss/*")
        .input("filesAcl", "public-read")
        .input("storageClass", "STANDARD_IA")
        .input("contentEncoding", "gzip")
        .input(
            "cacheControl",
            "about/**=max-age=60\n**/*.html=no-cache\n**=max-age=3600",
        )
        .input("keyManagement", "awsManaged")
        .input("encryptionAlgorithm", "AES256")
        .input("logRequest", "true")
        .input("logResponse", "true")
        .input("maxConcurrentRequests", "2")
        .input("stopOnFirstFailure", "false")
        .run(TASK);
    run.expect(StepResult::Succeeded);
    assert_eq!(
        bucket.keys(),
        ["about/index.html", "css/site.css", "index.html"]
    );
    let about = bucket.head("about/index.html").unwrap();
    assert_eq!(
        about.cache_control.as_deref(),
        Some("max-age=60"),
        "the first matching rule wins"
    );
    assert_eq!(
        bucket.head("index.html").unwrap().cache_control.as_deref(),
        Some("no-cache")
    );
    let css = bucket.head("css/site.css").unwrap();
    assert_eq!(css.cache_control.as_deref(), Some("max-age=3600"));
    assert_eq!(css.content_encoding.as_deref(), Some("gzip"));
    assert_eq!(css.storage_class.as_deref(), Some("STANDARD_IA"));
    assert_eq!(css.sse.as_deref(), Some("AES256"));
    let log = run.log_text();
    assert!(log.contains("S3 PutObject request: PUT "), "{log}");
    assert!(log.contains("x-amz-acl: public-read"), "{log}");
    assert!(log.contains("S3 PutObject response: HTTP 200"), "{log}");
    assert!(
        !log.to_ascii_lowercase().contains("authorization:"),
        "{log}"
    );
    fixtures::assert_no_leaks(&run, &oidc);

    let kms = Bucket::create(&Moto::shared().endpoint());
    let run = step(&oidc, &kms, src.path())
        .input("globExpressions", "index.html")
        .input("contentType", "application/x-site")
        .input("keyManagement", "awsManaged")
        .input("kmsMasterKeyId", "alias/site")
        .run(TASK);
    run.expect(StepResult::Succeeded);
    let h = kms.head("index.html").unwrap();
    assert_eq!(h.sse.as_deref(), Some("aws:kms"));
    assert_eq!(h.kms_key.as_deref(), Some("alias/site"));
    assert_eq!(
        h.content_type.as_deref(),
        Some("application/x-site"),
        "a fixed content type"
    );
}

#[test]
fn sse_c_keys_are_secret_and_sent_with_every_request() {
    let (oidc, bucket) = fresh();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("big.bin"), big(9 * 1024 * 1024, 3)).unwrap();
    std::fs::write(src.path().join("small.txt"), "x").unwrap();
    let run = step(&oidc, &bucket, src.path())
        .input("keyManagement", "customerManaged")
        .input("customerKey", SSE_C_HEX)
        .input("logRequest", "true")
        .run(TASK);
    run.expect(StepResult::Succeeded);
    assert_eq!(bucket.keys(), ["big.bin", "small.txt"]);
    let log = run.log_text();
    for op in [
        "PutObject",
        "CreateMultipartUpload",
        "UploadPart",
        "CompleteMultipartUpload",
    ] {
        let at = log
            .find(&format!("S3 {op} request"))
            .unwrap_or_else(|| panic!("no {op}: {log}"));
        let block = &log[at..];
        let end = block[1..].find("S3 ").map_or(block.len(), |e| e + 1);
        assert!(
            block[..end].contains("x-amz-server-side-encryption-customer-algorithm: AES256"),
            "{op} without SSE-C headers: {}",
            &block[..end]
        );
    }
    assert!(
        setsecrets(&run).iter().any(|s| s == SSE_C_HEX),
        "the key is registered as a secret"
    );
    let b64 = {
        use base64::Engine as _;
        let bytes: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(&SSE_C_HEX[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    };
    assert!(setsecrets(&run).contains(&b64), "and its base64 form");
    run.assert_no_leaks(&[SSE_C_HEX, &b64]);
    fixtures::assert_no_leaks(&run, &oidc);
}

#[test]
fn file_matching_rules_each_with_a_case() {
    let (oidc, bucket) = fresh();
    let dir = tempfile::tempdir().unwrap();
    let root = dir.path().join("out");
    write(
        &root,
        &[
            ("a.txt", "a"),
            ("b.log", "b"),
            (".hidden", "h"),
            ("sub/c.txt", "c"),
            ("sub/deep/d.txt", "d"),
            ("{x,y}.txt", "braces"),
            ("dir.txt/inside.bin", "i"),
        ],
    );
    write(dir.path(), &[("shared/e.txt", "e"), ("linked.txt", "l")]);
    #[cfg(unix)]
    {
        std::os::unix::fs::symlink(dir.path().join("shared"), root.join("shared")).unwrap();
        std::os::unix::fs::symlink(dir.path().join("linked.txt"), root.join("link.txt")).unwrap();
        std::os::unix::fs::symlink(&root, root.join("sub/loop")).unwrap();
    }
    let patterns = [
        "# every .txt file at the top",
        "*.txt",
        ".hidden",
        "sub//deep/./d.txt",
        &format!("{}/sub/c.txt", root.display()),
        "shared/",
        "!a.txt",
        "{x,y}.txt",
    ]
    .join("\n");
    let run = step(&oidc, &bucket, &dir.path().join("out/sub/..//./"))
        .input("globExpressions", &patterns)
        .run(TASK);
    run.expect(StepResult::SucceededWithIssues);
    assert_eq!(
        bucket.keys(),
        [
            ".hidden",        // dot files match
            "link.txt",       // a symlink to a file
            "shared/e.txt",   // a symlinked folder, named with a trailing /
            "sub/c.txt",      // an absolute pattern inside the source folder
            "sub/deep/d.txt", // doubled separators and ./ in a pattern
            "{x,y}.txt",      // braces are literal
        ]
    );
    // a.txt excluded by !, b.log never matched, dir.txt is a folder.
    let log = run.log_text();
    assert!(
        log.contains("is a symbolic link back into a folder above it"),
        "{log}"
    );

    let none = step(&oidc, &bucket, &root)
        .input("globExpressions", "*.nothing")
        .run(TASK);
    none.expect(StepResult::SucceededWithIssues);
    assert_logged(&none, "No files found in folder");
}

#[test]
fn flattened_keys_and_windows_style_target_folders() {
    let (oidc, bucket) = fresh();
    let src = site();
    let run = step(&oidc, &bucket, src.path())
        .input("globExpressions", "css/*\njs/*.js")
        .input("flattenFolders", "true")
        .input("targetFolder", "\\assets\\v3\\")
        .run(TASK);
    run.expect(StepResult::Succeeded);
    assert_eq!(bucket.keys(), ["assets/v3/app.js", "assets/v3/site.css"]);
}

#[test]
fn sync_skips_what_is_unchanged_and_uploads_what_changed() {
    let (oidc, bucket) = fresh();
    let src = site();
    std::fs::write(src.path().join("big.bin"), big(9 * 1024 * 1024, 1)).unwrap();
    let sync = |extra: &[(&str, &str)]| {
        let mut a = step(&oidc, &bucket, src.path())
            .input("skipUnchanged", "true")
            .input("targetFolder", "s");
        for (k, v) in extra {
            a = a.input(k, v);
        }
        a.run(TASK)
    };
    let first = sync(&[]);
    first.expect(StepResult::Succeeded);
    assert_eq!(output(&first, "filesUploaded"), "8");
    assert!(
        bucket.head("s/big.bin").unwrap().etag.ends_with("-2"),
        "a multipart object"
    );

    let second = sync(&[]);
    second.expect(StepResult::Succeeded);
    assert_eq!(
        output(&second, "filesUploaded"),
        "0",
        "{}",
        second.log_text()
    );
    assert_eq!(output(&second, "filesSkipped"), "8");

    // Same size, same modification time, other content.
    let css = src.path().join("css/site.css");
    let mtime = std::fs::metadata(&css).unwrap().modified().unwrap();
    std::fs::write(&css, "body[]").unwrap();
    std::fs::File::options()
        .write(true)
        .open(&css)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let third = sync(&[]);
    third.expect(StepResult::Succeeded);
    assert_eq!(output(&third, "filesUploaded"), "1");
    assert!(
        third
            .log_text()
            .contains("upload s/css/site.css (6 B; content changed)"),
        "{}",
        third.log_text()
    );
    assert_eq!(bucket.get("s/css/site.css"), b"body[]");

    // A setting changed: every HTML file again, nothing else.
    let fourth = sync(&[("cacheControl", "**/*.html=no-store")]);
    fourth.expect(StepResult::Succeeded);
    assert_eq!(
        output(&fourth, "filesUploaded"),
        "2",
        "{}",
        fourth.log_text()
    );
    assert!(
        fourth
            .log_text()
            .contains("Cache-Control changed ('' → 'no-store')"),
        "{}",
        fourth.log_text()
    );
    assert_eq!(
        bucket
            .head("s/index.html")
            .unwrap()
            .cache_control
            .as_deref(),
        Some("no-store")
    );
}

#[test]
fn delete_and_dry_run() {
    let (oidc, bucket) = fresh();
    bucket.put("site/old.html", b"old");
    bucket.put("site/deep/stale.css", b"stale");
    bucket.put("other/keep.txt", b"keep");
    let src = site();

    let dry = step(&oidc, &bucket, src.path())
        .input("targetFolder", "site")
        .input("deleteUnmatched", "true")
        .input("dryRun", "true")
        .run(TASK);
    dry.expect(StepResult::Succeeded);
    assert_eq!(
        bucket.keys(),
        ["other/keep.txt", "site/deep/stale.css", "site/old.html"],
        "a dry run changes nothing"
    );
    let log = dry.log_text();
    assert!(log.contains("upload site/index.html (17 B)"), "{log}");
    assert!(
        log.contains("delete site/deep/stale.css") && log.contains("delete site/old.html"),
        "{log}"
    );
    assert_eq!(output(&dry, "filesDeleted"), "2");

    let real = step(&oidc, &bucket, src.path())
        .input("targetFolder", "site")
        .input("deleteUnmatched", "true")
        .run(TASK);
    real.expect(StepResult::Succeeded);
    let keys = bucket.keys();
    assert!(
        keys.contains(&"other/keep.txt".to_owned()),
        "outside the target folder stays"
    );
    assert!(
        !keys
            .iter()
            .any(|k| k == "site/old.html" || k == "site/deep/stale.css"),
        "{keys:?}"
    );
    assert_eq!(keys.len(), 8);
    let log = real.log_text();
    let listed = log
        .find("Deleting 2 objects no file matches")
        .expect("the keys are listed");
    assert!(
        log[listed..].contains("s3://") && log[listed..].contains("site/old.html"),
        "{log}"
    );
    assert_eq!(output(&real, "filesDeleted"), "2");
}

#[test]
fn buckets_are_created_only_when_missing() {
    let oidc = oidc();
    let endpoint = Moto::shared().endpoint();
    let src = site();
    let missing = Bucket::named(&endpoint, &format!("azp-new-{:08x}", fastrand::u32(..)));
    let refused = step(&oidc, &missing, src.path()).run(TASK);
    refused.expect(StepResult::Failed);
    assert_error(&refused, "does not exist (HeadBucket answered 404)");
    assert!(!missing.exists());

    let created = step(&oidc, &missing, src.path())
        .input("createBucket", "true")
        .run(TASK);
    created.expect(StepResult::Succeeded);
    assert!(missing.exists());
    assert_eq!(missing.keys().len(), 7);

    // A bucket this role may not use is never "created".
    let bucket = Bucket::create(&endpoint);
    let proxy = FaultProxy::start(
        Moto::shared().port(),
        vec![Rule::new("HEAD", &[], Fault::Status(403), usize::MAX)],
    );
    let run = through(
        step(&oidc, &bucket, src.path()).input("createBucket", "true"),
        &proxy,
    )
    .run(TASK);
    run.expect(StepResult::Failed);
    assert_error(&run, "exists, but these credentials may not use it");
    assert!(
        proxy.seen().iter().all(|r| r.method == "HEAD"),
        "{:?}",
        proxy.seen()
    );
}

#[test]
fn a_failed_part_is_retried() {
    let (oidc, bucket) = fresh();
    let src = tempfile::tempdir().unwrap();
    let data = big(17 * 1024 * 1024, 7);
    std::fs::write(src.path().join("big.bin"), &data).unwrap();
    std::fs::write(src.path().join("small.txt"), "small").unwrap();
    let proxy = FaultProxy::start(
        Moto::shared().port(),
        vec![
            Rule::new("PUT", &["partNumber=2", "uploadId"], Fault::Status(500), 1),
            Rule::new("PUT", &["partNumber=3", "uploadId"], Fault::Drop, 1),
            Rule::new("PUT", &[], Fault::Status(503), 1).on_path("/small.txt"),
        ],
    );
    let run = through(step(&oidc, &bucket, src.path()), &proxy).run(TASK);
    run.expect(StepResult::Succeeded);
    assert_eq!(bucket.get("big.bin"), data);
    assert_eq!(bucket.get("small.txt"), b"small");
    let seen = proxy.seen();
    let tries = |q: &str| {
        seen.iter()
            .filter(|r| r.method == "PUT" && r.uri.contains(q))
            .count()
    };
    assert_eq!(tries("partNumber=1&"), 1);
    assert_eq!(tries("partNumber=2&"), 2, "a 500 is retried");
    assert_eq!(tries("partNumber=3&"), 2, "a dropped connection is retried");
    assert_eq!(
        seen.iter().filter(|r| r.uri.contains("/small.txt")).count(),
        2,
        "503 SlowDown is retried"
    );
    assert!(bucket.incomplete_uploads().is_empty());
}

#[test]
fn a_part_that_keeps_failing_fails_the_file_and_aborts_its_upload() {
    let (oidc, bucket) = fresh();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("a-big.bin"), big(9 * 1024 * 1024, 2)).unwrap();
    for i in 0..5 {
        std::fs::write(src.path().join(format!("z{i}.txt")), "later").unwrap();
    }
    let proxy = FaultProxy::start(
        Moto::shared().port(),
        vec![Rule::new(
            "PUT",
            &["partNumber=2", "uploadId"],
            Fault::Status(500),
            usize::MAX,
        )],
    );
    let run = through(
        step(&oidc, &bucket, src.path()).input("maxConcurrentRequests", "1"),
        &proxy,
    )
    .run(TASK);
    run.expect(StepResult::Failed);
    assert_error(&run, "1 of 6 files failed to upload");
    assert_error(
        &run,
        "a-big.bin: UploadPart of part 2 failed: InternalError",
    );
    assert_error(&run, "5 were not started after the first failure");
    assert!(
        bucket.incomplete_uploads().is_empty(),
        "the failed upload was aborted"
    );
    assert!(
        proxy
            .seen()
            .iter()
            .any(|r| r.method == "DELETE" && r.uri.contains("uploadId")),
        "AbortMultipartUpload"
    );
    assert!(bucket.keys().is_empty(), "{:?}", bucket.keys());
    assert_eq!(output(&run, "filesFailed"), "1");

    // Without stopOnFirstFailure every other file is still tried.
    let run = through(
        step(&oidc, &bucket, src.path())
            .input("maxConcurrentRequests", "1")
            .input("stopOnFirstFailure", "false"),
        &proxy,
    )
    .run(TASK);
    run.expect(StepResult::Failed);
    assert_error(&run, "1 of 6 files failed to upload:");
    assert_eq!(
        bucket.keys(),
        ["z0.txt", "z1.txt", "z2.txt", "z3.txt", "z4.txt"]
    );
    assert!(bucket.incomplete_uploads().is_empty());
}

#[test]
fn cancelling_mid_upload_leaves_no_incomplete_upload() {
    let (oidc, bucket) = fresh();
    let src = tempfile::tempdir().unwrap();
    std::fs::write(src.path().join("big.bin"), big(25 * 1024 * 1024, 5)).unwrap();
    let proxy = FaultProxy::start(
        Moto::shared().port(),
        vec![Rule::new(
            "PUT",
            &["uploadId"],
            Fault::Delay(std::time::Duration::from_secs(4)),
            usize::MAX,
        )],
    );
    let run = through(step(&oidc, &bucket, src.path()), &proxy)
        .cancel_when("in 4 parts of")
        .timeout(std::time::Duration::from_secs(60))
        .run(TASK);
    assert!(!run.timed_out);
    run.expect(StepResult::Canceled);
    assert!(
        bucket.incomplete_uploads().is_empty(),
        "{:?}",
        bucket.incomplete_uploads()
    );
    assert!(
        proxy
            .seen()
            .iter()
            .any(|r| r.method == "DELETE" && r.uri.contains("uploadId")),
        "AbortMultipartUpload"
    );
    assert!(bucket.keys().is_empty());
}

#[test]
fn bad_inputs_name_the_input_and_upload_nothing() {
    let (oidc, bucket) = fresh();
    let src = site();
    let cases: Vec<(Agent, &str)> = vec![
        (
            step(&oidc, &bucket, &src.path().join("no-such-folder")),
            "The source folder",
        ),
        (
            step(&oidc, &bucket, src.path()).input("cacheControl", "**/*.html=no-cache\nimmutable"),
            "Input 'Cache Control' (cacheControl)",
        ),
        (
            step(&oidc, &bucket, src.path())
                .input("keyManagement", "customerManaged")
                .input("customerKey", "0123456789abcdef"),
            "Input 'Customer Key' (customerKey) has the value '***'",
        ),
        (
            step(&oidc, &bucket, src.path()).input("flattenFolders", "true"),
            "would both be uploaded as index.html because flattenFolders is set",
        ),
        (
            step(&oidc, &bucket, src.path()).input("storageClass", "COLD"),
            "Input 'Storage Class' (storageClass) has the value 'COLD', which is not one of",
        ),
        (
            step(&oidc, &bucket, src.path()).input("globExpressions", "../elsewhere/**"),
            "globExpressions line 1 ('../elsewhere/**')",
        ),
        (
            step(&oidc, &bucket, src.path()).input("maxConcurrentRequests", "0"),
            "Input 'Parallel requests' (maxConcurrentRequests)",
        ),
    ];
    for (agent, expected) in cases {
        let run = agent.run(TASK);
        assert_eq!(
            run.result,
            StepResult::Failed,
            "{expected}: {}",
            run.log_text()
        );
        assert_error(&run, expected);
        assert!(
            !run.log_text().contains("0123456789abcdef"),
            "{}",
            run.log_text()
        );
        fixtures::assert_no_leaks(&run, &oidc);
    }
    assert!(bucket.keys().is_empty(), "{:?}", bucket.keys());
}
