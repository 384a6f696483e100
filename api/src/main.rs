use clap::Parser;

use api::cli::{run, Cli};

#[actix_web::main]
async fn main() -> std::process::ExitCode {
    // A missing .env is normal; only its values matter when present.
    let _ = dotenvy::dotenv();
    let cli = Cli::parse();
    match run(cli).await {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("refund-desk: {err}");
            std::process::ExitCode::FAILURE
        }
    }
}
