//! `terraform-provider-dataplatform`: started by Terraform as a plugin; by hand it serves in
//! debug mode (`--debug`) or writes its documentation (`docs`).

use std::path::PathBuf;
use std::process::ExitCode;

use dataplatform::framework::ProviderServer;
use dataplatform::protocol::{self, handshake, ServeOptions};
use dataplatform::provider::{DataplatformProvider, PROVIDER_ADDRESS};
use dataplatform::{docs, logging};

const USAGE: &str = "\
Usage:
  terraform-provider-dataplatform            serve as a plugin (Terraform starts it this way)
  terraform-provider-dataplatform --debug    serve for Terraform to attach to (prints TF_REATTACH_PROVIDERS);
                                             listens on a unix socket in a new owner-only directory under
                                             TMPDIR (or PLUGIN_UNIX_SOCKET_DIR), removed on exit; not on Windows
  terraform-provider-dataplatform docs [--check] [--dir DIR]
                                             write docs/ from the schema and examples/ (--check: fail if stale)
  terraform-provider-dataplatform --version";

fn main() -> ExitCode {
    logging::init_from_env();
    std::panic::set_hook(Box::new(|info| {
        tracing::error!(panic = %info, "provider panicked");
        eprintln!("terraform-provider-dataplatform: internal error: {info}");
    }));
    let args: Vec<String> = std::env::args().skip(1).collect();
    match args.first().map(String::as_str) {
        None => serve(),
        Some("--debug") | Some("-debug") => debug(),
        Some("docs") => docs_command(&args[1..]),
        Some("--version") | Some("version") => {
            eprintln!(
                "terraform-provider-dataplatform {}",
                env!("CARGO_PKG_VERSION")
            );
            ExitCode::SUCCESS
        }
        Some("--help") | Some("-h") | Some("help") => {
            eprintln!("{USAGE}");
            ExitCode::SUCCESS
        }
        Some(other) => {
            eprintln!("unknown argument {other:?}\n\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

fn runtime() -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

fn serve() -> ExitCode {
    let program = std::env::args()
        .next()
        .unwrap_or_else(|| "terraform-provider-dataplatform".into());
    let env = match handshake::read_env(|k| std::env::var(k).ok(), &program) {
        Ok(e) => e,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let result = rt.block_on(protocol::serve(DataplatformProvider, env));
    // Do not wait for background tasks: Terraform waits for this process to exit.
    rt.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("terraform-provider-dataplatform: {e}");
            ExitCode::FAILURE
        }
    }
}

fn debug() -> ExitCode {
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start: {e}");
            return ExitCode::FAILURE;
        }
    };
    let opts = ServeOptions {
        provider_address: PROVIDER_ADDRESS.to_string(),
        unix_socket_dir: handshake::unix_socket_dir(|k| std::env::var(k).ok()),
    };
    let result = rt.block_on(protocol::serve_debug(DataplatformProvider, opts));
    rt.shutdown_background();
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("terraform-provider-dataplatform: {e}");
            ExitCode::FAILURE
        }
    }
}

fn docs_command(args: &[String]) -> ExitCode {
    let mut check = false;
    let mut dir = PathBuf::from(".");
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--check" => check = true,
            "--dir" => match it.next() {
                Some(d) => dir = PathBuf::from(d),
                None => {
                    eprintln!("--dir needs a directory\n\n{USAGE}");
                    return ExitCode::from(2);
                }
            },
            other => {
                eprintln!("unknown docs argument {other:?}\n\n{USAGE}");
                return ExitCode::from(2);
            }
        }
    }
    let server = ProviderServer::new(DataplatformProvider);
    let files = docs::render(&server, &dir);
    if check {
        let stale = docs::stale(&files, &dir);
        if stale.is_empty() {
            eprintln!("docs/ is up to date ({} files)", files.len());
            return ExitCode::SUCCESS;
        }
        eprintln!("docs/ is stale; run `make docs` and commit the result. Differing files:");
        for f in stale {
            eprintln!("  {}", f.display());
        }
        return ExitCode::FAILURE;
    }
    match docs::write(&files, &dir) {
        Ok(()) => {
            eprintln!(
                "wrote {} files under {}",
                files.len(),
                dir.join("docs").display()
            );
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("could not write docs: {e}");
            ExitCode::FAILURE
        }
    }
}
