//! `aws-toolkit-migrate`: move one Azure DevOps project from the AWS
//! Toolkit to this extension. A dry run unless `--apply` is given; see
//! `docs/migration.md`.
//!
//! ```text
//! AZURE_DEVOPS_EXT_PAT=... aws-toolkit-migrate --organization https://dev.azure.com/contoso \
//!     --project "Web Shop" [--flavour replacement|side-by-side] [--apply]
//!     [--rollback-file FILE] [--rollback FILE] [--release-url URL]
//! ```

use std::path::PathBuf;
use std::process::ExitCode;

use extension_checks::flavour;
use toolkit_migration::{DevOps, Rollback, apply, inventory, plan, rollback};

const USAGE: &str = "usage: aws-toolkit-migrate --organization URL --project NAME [--flavour replacement|side-by-side] \
[--apply] [--rollback-file FILE] [--rollback FILE] [--release-url URL]
The personal access token is read from AZURE_DEVOPS_EXT_PAT (or SYSTEM_ACCESSTOKEN), never from an argument.
Without --apply nothing is changed: the plan is printed.";

#[derive(Debug, Default)]
struct Args {
    organization: Option<String>,
    project: Option<String>,
    flavour: Option<String>,
    apply: bool,
    rollback_file: Option<PathBuf>,
    rollback: Option<PathBuf>,
    release_url: Option<String>,
}

fn parse(mut argv: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut a = Args::default();
    while let Some(arg) = argv.next() {
        let mut value = |name: &str| argv.next().ok_or_else(|| format!("{name} needs a value"));
        match arg.as_str() {
            "--organization" | "--org" => a.organization = Some(value(&arg)?),
            "--project" => a.project = Some(value(&arg)?),
            "--flavour" => a.flavour = Some(value(&arg)?),
            "--apply" => a.apply = true,
            "--rollback-file" => a.rollback_file = Some(PathBuf::from(value(&arg)?)),
            "--rollback" => a.rollback = Some(PathBuf::from(value(&arg)?)),
            "--release-url" => a.release_url = Some(value(&arg)?),
            "--pat" | "--token" => {
                return Err(
                    "a token is never taken from an argument: set AZURE_DEVOPS_EXT_PAT".into(),
                );
            }
            "-h" | "--help" => return Err(String::new()),
            other => return Err(format!("unknown argument '{other}'")),
        }
    }
    Ok(a)
}

#[allow(clippy::print_stdout, clippy::print_stderr)] // a command-line tool, not a task
fn main() -> ExitCode {
    let args = match parse(std::env::args().skip(1)) {
        Ok(a) => a,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("aws-toolkit-migrate: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let (Some(org), Some(project)) = (args.organization.as_deref(), args.project.as_deref()) else {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    };
    let flavour = match flavour::by_name(args.flavour.as_deref().unwrap_or("replacement")) {
        Ok(f) if f.name != "dev" => f,
        Ok(_) => {
            eprintln!(
                "aws-toolkit-migrate: the dev flavour is for test publishing, not for migrating"
            );
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("aws-toolkit-migrate: {e}");
            return ExitCode::from(2);
        }
    };
    let env = azp_task::Env::from_process();
    let devops = match DevOps::new(&env, org, project, args.release_url.as_deref()) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("aws-toolkit-migrate: {e}");
            return ExitCode::FAILURE;
        }
    };
    let runtime = match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("aws-toolkit-migrate: {e}");
            return ExitCode::FAILURE;
        }
    };
    let mut say = |line: String| println!("{line}");
    let result = runtime.block_on(async {
        if let Some(path) = &args.rollback {
            let plan = Rollback::load(path)?;
            println!("Undoing the {} steps recorded in {}.", plan.steps.len(), path.display());
            rollback(&devops, &plan, &flavour, &mut say).await?;
            println!("Rolled back.");
            return Ok(());
        }
        let inv = inventory(&devops, &flavour).await?;
        let p = plan(&devops, &inv, &flavour);
        for line in &p.report {
            println!("{line}");
        }
        println!();
        if !args.apply {
            println!(
                "Dry run: nothing was changed. {} change{} would be made; run again with --apply to make {}.",
                p.changes.len(),
                if p.changes.len() == 1 { "" } else { "s" },
                if p.changes.len() == 1 { "it" } else { "them" }
            );
            return Ok(());
        }
        let file = args
            .rollback_file
            .clone()
            .unwrap_or_else(|| PathBuf::from("aws-toolkit-migration-rollback.json"));
        if p.changes.is_empty() {
            println!("Nothing to change.");
            return Ok(());
        }
        if file.exists() {
            eprintln!(
                "aws-toolkit-migrate: {} exists, from an earlier run; keep it (it undoes that run) and pass \
                 --rollback-file with a new name",
                file.display()
            );
            return Err(toolkit_migration::MigrationError::Plan {
                path: file.display().to_string(),
                detail: "would overwrite an earlier rollback plan".into(),
            });
        }
        println!("Applying {} changes; the rollback plan is kept in {}.", p.changes.len(), file.display());
        if let Err(e) = apply(&devops, &inv, &p, &flavour, &file, &mut say).await {
            if Rollback::load(&file).is_ok_and(|r| !r.steps.is_empty()) {
                eprintln!(
                    "aws-toolkit-migrate: stopped part way; the changes made so far are recorded in {}. \
                     Fix the cause below and run again, or undo them with: aws-toolkit-migrate --organization {org} \
                     --project \"{project}\" --flavour {} --rollback {}",
                    file.display(),
                    flavour.name,
                    file.display()
                );
            }
            return Err(e);
        }
        println!(
            "Done. To undo: aws-toolkit-migrate --organization {org} --project \"{project}\" --flavour {} --rollback {}",
            flavour.name,
            file.display()
        );
        Ok::<(), toolkit_migration::MigrationError>(())
    });
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("aws-toolkit-migrate: {e}");
            ExitCode::FAILURE
        }
    }
}
