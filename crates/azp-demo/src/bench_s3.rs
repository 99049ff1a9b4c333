//! The S3 upload benchmark (`scripts/bench-s3`): S3Upload from the
//! packaged VSIX through `node launcher.js`, against `aws s3 cp
//! --recursive` with its default settings, and against a sequential
//! one-file-at-a-time SDK upload (how the AWS Toolkit uploads: the JS SDK
//! v2 managed upload, one `PutObject` below 5 MiB, else 5 MiB parts with 4
//! in flight), all against s3s-fs on loopback.
//!
//! Every measured run is a child of a fresh `azp-demo s3-measure` process,
//! whose `RUSAGE_CHILDREN` then gives the peak resident memory of the
//! largest process of that run alone. Runs alternate the order of the
//! tools, so that no tool always comes first (cold caches) or last.

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use aws_clients::names;
use azp_task::time::Stopwatch;
use azp_testkit::fixtures;
use futures_util::StreamExt as _;

/// The credentials s3s-fs is started with (it checks signatures).
const ACCESS_KEY: &str = "AKIAIOSFODNN7EXAMPLE";
const SECRET_KEY: &str = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY";
const MIB: u64 = 1024 * 1024;

/// The tools compared.
const TOOLS: [&str; 3] = ["task", "aws-cli", "sequential"];

/// A benchmark case: a folder of files.
struct Case {
    name: &'static str,
    files: usize,
    size: u64,
}

const CASES: [Case; 3] = [
    Case {
        name: "5000 files of 4 KiB",
        files: 5000,
        size: 4 * 1024,
    },
    Case {
        name: "200 files of 1 MiB",
        files: 200,
        size: MIB,
    },
    Case {
        name: "1 file of 1 GiB",
        files: 1,
        size: 1024 * MIB,
    },
];

fn slug(case: &str) -> String {
    case.split_whitespace().collect::<Vec<_>>().join("-")
}

/// Write the files of `case` under `dir` (100 per folder), with content
/// that does not compress.
fn make_case(dir: &Path, case: &Case) {
    let mut rng = fastrand::Rng::with_seed(case.files as u64 ^ case.size);
    let chunk: Vec<u8> = (0..MIB).map(|_| rng.u8(..)).collect();
    for i in 0..case.files {
        let path = dir.join(format!("d{:03}/f{i:05}.bin", i / 100));
        std::fs::create_dir_all(path.parent().expect("parent")).expect("create folder");
        let mut f = std::io::BufWriter::new(std::fs::File::create(&path).expect("create file"));
        let mut left = case.size;
        let offset = (i * 7919) % 4096;
        while left > 0 {
            let n = left.min(MIB - offset as u64) as usize;
            std::io::Write::write_all(&mut f, &chunk[offset..offset + n]).expect("write");
            left -= n as u64;
        }
    }
}

struct Server {
    child: std::process::Child,
    endpoint: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn start_s3s(bin: &Path, root: &Path) -> Server {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("free port");
    let child = Command::new(bin)
        .args([
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
            "--access-key",
            ACCESS_KEY,
        ])
        .args(["--secret-key", SECRET_KEY])
        .arg(root)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("start {}: {e}", bin.display()));
    let started = Stopwatch::start();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed().as_secs() < 30, "s3s-fs did not start");
        std::thread::sleep(std::time::Duration::from_millis(50));
    }
    Server {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
    }
}

/// One measured run: `(wall seconds, peak RSS in KiB)`.
fn measure(tool: &str, args: &[String]) -> (f64, i64) {
    let me = std::env::current_exe().expect("own path");
    let out = Command::new(me)
        .arg("s3-measure")
        .arg(tool)
        .args(args)
        .stderr(Stdio::inherit())
        .output()
        .expect("run s3-measure");
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().last().unwrap_or_default();
    let mut parts = line.split_whitespace();
    let wall: f64 = parts
        .next()
        .and_then(|v| v.parse().ok())
        .unwrap_or(f64::NAN);
    let rss: i64 = parts.next().and_then(|v| v.parse().ok()).unwrap_or(0);
    assert!(
        out.status.success() && wall.is_finite(),
        "{tool} failed: {text}"
    );
    (wall, rss)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

/// `azp-demo bench-s3 <vsix> <s3s-fs binary> <runs>`.
pub(crate) fn bench(vsix: &Path, s3s: &Path, runs: usize) -> ExitCode {
    let unzipped = extension_checks::unzip(vsix);
    let task_dir = unzipped.path().join("tasks/S3Upload");
    let data = tempfile::tempdir().expect("temp dir");
    let store = tempfile::tempdir().expect("temp dir");
    let server = start_s3s(s3s, store.path());
    let moto = azp_testkit::Moto::start();
    for tool in TOOLS {
        create_bucket(&server.endpoint, &format!("bench-{tool}"));
    }
    println!(
        "S3 upload benchmark against s3s-fs 0.14.1 on loopback ({}), median of {runs} runs, tools in alternating order.",
        server.endpoint
    );
    println!(
        "Peak RSS is that of the largest process of a run (for the task: node or the task binary)."
    );
    let mut ok = true;
    for case in &CASES {
        let dir = data.path().join(slug(case.name));
        make_case(&dir, case);
        let bytes = case.files as u64 * case.size;
        let mut results: Vec<(Vec<f64>, i64)> = vec![(Vec::new(), 0); TOOLS.len()];
        for run in 0..runs {
            for k in 0..TOOLS.len() {
                let t = (run + k) % TOOLS.len();
                let tool = TOOLS[t];
                let args = vec![
                    dir.display().to_string(),
                    server.endpoint.clone(),
                    format!("bench-{tool}"),
                    slug(case.name),
                    task_dir.display().to_string(),
                    moto.endpoint(),
                ];
                let (wall, rss) = measure(tool, &args);
                results[t].0.push(wall);
                results[t].1 = results[t].1.max(rss);
            }
        }
        let cli = median(results[1].0.clone());
        println!("\n{} ({:.0} MiB):", case.name, bytes as f64 / MIB as f64);
        println!(
            "  {:<44} {:>9} {:>12} {:>10} {:>15}",
            "tool", "wall", "throughput", "peak RSS", "vs aws s3 cp"
        );
        for (t, (walls, rss)) in results.iter().enumerate() {
            let m = median(walls.clone());
            let label = match TOOLS[t] {
                "task" => "S3Upload (node launcher.js, defaults)",
                "aws-cli" => "aws s3 cp --recursive (AWS CLI v1, defaults)",
                _ => "sequential SDK upload (the toolkit's way)",
            };
            println!(
                "  {label:<44} {m:>8.2}s {:>8.1} MiB/s {:>7.1} MiB {:>14.2}x",
                bytes as f64 / MIB as f64 / m,
                *rss as f64 / 1024.0,
                cli / m
            );
            ok &= m.is_finite();
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    drop(server);
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

fn create_bucket(endpoint: &str, name: &str) {
    let client = azp_testkit::s3::client(endpoint);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(client.create_bucket().bucket(name).send())
        .unwrap_or_else(|e| panic!("create bucket {name}: {}", aws_clients::describe(&e)));
}

/// `azp-demo s3-measure <tool> <dir> <endpoint> <bucket> <prefix> <task dir>
/// <moto>`: run one tool, print `wall-seconds peak-rss-kib`.
pub(crate) fn measure_one(tool: &str, args: &[&str]) -> ExitCode {
    let [dir, endpoint, bucket, prefix, task_dir, moto] = args else {
        return ExitCode::from(2);
    };
    let watch = Stopwatch::start();
    let ok = match tool {
        "task" => {
            let task_dir = PathBuf::from(task_dir);
            let run = fixtures::isolated(&task_dir)
                .env(names::AWS_ENDPOINT_URL, moto)
                .env("AWS_ENDPOINT_URL_S3", endpoint)
                .env(names::AWS_ACCESS_KEY_ID, ACCESS_KEY)
                .env(names::AWS_SECRET_ACCESS_KEY, SECRET_KEY)
                .input("regionName", "eu-west-1")
                .input("bucketName", bucket)
                .input("sourceFolder", dir)
                .input("targetFolder", prefix)
                .input("forcePathStyleAddressing", "true")
                .timeout(std::time::Duration::from_secs(1800))
                .run_process(
                    &fixtures::node(),
                    &[&task_dir.join("launcher.js").display().to_string()],
                );
            if run.result != azp_testkit::StepResult::Succeeded {
                eprintln!("{}", run.log_text());
            }
            run.result == azp_testkit::StepResult::Succeeded
        }
        "aws-cli" => Command::new(azp_testkit::moto::venv_bin("aws"))
            .args([
                "s3",
                "cp",
                "--recursive",
                dir,
                &format!("s3://{bucket}/{prefix}/"),
            ])
            .args(["--endpoint-url", endpoint, "--region", "eu-west-1"])
            .env(names::AWS_ACCESS_KEY_ID, ACCESS_KEY)
            .env(names::AWS_SECRET_ACCESS_KEY, SECRET_KEY)
            .env(names::AWS_CONFIG_FILE, "/nonexistent")
            .env(names::AWS_SHARED_CREDENTIALS_FILE, "/nonexistent")
            .stdout(Stdio::null())
            .status()
            .is_ok_and(|s| s.success()),
        "sequential" => Command::new(std::env::current_exe().expect("own path"))
            .args(["s3-sequential", dir, endpoint, bucket, prefix])
            .status()
            .is_ok_and(|s| s.success()),
        _ => false,
    };
    let wall = watch.elapsed().as_secs_f64();
    if !ok {
        return ExitCode::FAILURE;
    }
    println!("{wall:.3} {}", crate::peak_rss_kib());
    ExitCode::SUCCESS
}

/// `azp-demo s3-sequential <dir> <endpoint> <bucket> <prefix>`: the
/// toolkit's way: one file after another, each a `PutObject` below 5 MiB,
/// else a multipart upload of 5 MiB parts with 4 in flight (the JS SDK v2
/// `ManagedUpload` defaults).
pub(crate) fn sequential(args: &[&str]) -> ExitCode {
    let [dir, endpoint, bucket, prefix] = args else {
        return ExitCode::from(2);
    };
    let client = azp_testkit::s3::client(endpoint);
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let mut files: Vec<PathBuf> = walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .map(|e| e.path().to_path_buf())
        .collect();
    files.sort();
    let result: Result<(), String> = rt.block_on(async {
        for path in files {
            let rel = path
                .strip_prefix(dir)
                .unwrap_or(&path)
                .to_string_lossy()
                .replace('\\', "/");
            let key = format!("{prefix}/{rel}");
            let size = std::fs::metadata(&path).map_err(|e| e.to_string())?.len();
            upload_sequential(&client, bucket, &key, &path, size).await?;
        }
        Ok(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("sequential upload failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn upload_sequential(
    client: &aws_sdk_s3::Client,
    bucket: &str,
    key: &str,
    path: &Path,
    size: u64,
) -> Result<(), String> {
    use aws_sdk_s3::primitives::{ByteStream, Length};
    use aws_sdk_s3::types::{CompletedMultipartUpload, CompletedPart};
    const PART: u64 = 5 * MIB;
    if size < PART {
        let body = ByteStream::from_path(path)
            .await
            .map_err(|e| e.to_string())?;
        client
            .put_object()
            .bucket(bucket)
            .key(key)
            .body(body)
            .send()
            .await
            .map_err(|e| aws_clients::describe(&e).to_string())?;
        return Ok(());
    }
    let id = client
        .create_multipart_upload()
        .bucket(bucket)
        .key(key)
        .send()
        .await
        .map_err(|e| aws_clients::describe(&e).to_string())?
        .upload_id()
        .unwrap_or_default()
        .to_owned();
    let count = size.div_ceil(PART);
    let parts = futures_util::stream::iter(0..count)
        .map(|i| {
            let id = id.clone();
            async move {
                let len = PART.min(size - i * PART);
                let body = ByteStream::read_from()
                    .path(path)
                    .offset(i * PART)
                    .length(Length::Exact(len))
                    .build()
                    .await
                    .map_err(|e| e.to_string())?;
                let number = i32::try_from(i + 1).unwrap_or(i32::MAX);
                let out = client
                    .upload_part()
                    .bucket(bucket)
                    .key(key)
                    .upload_id(&id)
                    .part_number(number)
                    .body(body)
                    .send()
                    .await
                    .map_err(|e| aws_clients::describe(&e).to_string())?;
                Ok::<_, String>(
                    CompletedPart::builder()
                        .part_number(number)
                        .set_e_tag(out.e_tag().map(str::to_owned))
                        .set_checksum_crc32(out.checksum_crc32().map(str::to_owned))
                        .build(),
                )
            }
        })
        .buffered(4)
        .collect::<Vec<_>>()
        .await
        .into_iter()
        .collect::<Result<Vec<_>, _>>()?;
    client
        .complete_multipart_upload()
        .bucket(bucket)
        .key(key)
        .upload_id(&id)
        .multipart_upload(
            CompletedMultipartUpload::builder()
                .set_parts(Some(parts))
                .build(),
        )
        .send()
        .await
        .map_err(|e| aws_clients::describe(&e).to_string())?;
    Ok(())
}
