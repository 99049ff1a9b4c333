//! The S3Upload binary: everything is in the library, so that the
//! packaging checks can compare its declared inputs with task.json.

// musl's allocator hands memory back to the kernel after nearly every
// large buffer; with it the static Linux build spent twice the system time
// of a glibc build on the 1 GiB benchmark. mimalloc keeps it level.
#[cfg(target_env = "musl")]
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> std::process::ExitCode {
    azp_task::run(task_s3_upload::run)
}
