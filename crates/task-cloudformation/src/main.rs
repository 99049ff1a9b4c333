//! The CloudFormationCreateOrUpdateStack binary: everything is in the
//! library, so that the packaging checks can compare its declared inputs
//! with task.json.

fn main() -> std::process::ExitCode {
    azp_task::run(task_cloudformation::run)
}
